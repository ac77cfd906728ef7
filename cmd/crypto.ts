// salty crypto e|d|es|ds: secret files and strings in the original salty
// format. Thin: the format, the files and the password live in lib/crypto/.

import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { defineCommand } from "./_command.ts";
import { SaltyError, UsageError } from "../lib/errors.ts";
import {
  checkPaths,
  decryptFile,
  decryptStream,
  decryptString,
  deriveKey,
  encryptFile,
  encryptStream,
  encryptString,
} from "../lib/crypto/secrets.ts";
import { wholeBlocksWarning } from "../lib/crypto/secret-stream.ts";
import { clientKeyroot, clientKeyrootArg } from "./_cli.ts";
import { obtainPassword } from "./_password.ts";
import { io, writeChunk } from "./_io.ts";

interface CryptoArgs {
  _: string[];
  keyroot?: string;
  force?: boolean;
}

const forceArg = {
  force: { type: "boolean", description: "Overwrite an existing output file" },
} as const;

/** `e`/`d`: each FILE to its output; with no FILE, stdin to stdout. Stops at the first failure. */
async function runFiles(args: CryptoArgs, encrypt: boolean): Promise<void> {
  const jobs = args._.map((src) => ({ src, dst: encrypt ? `${src}.enc` : decryptedName(src) }));
  if (jobs.length === 0 && io().stdin.isTTY)
    throw new UsageError(
      `give FILE... or pipe data on stdin (see salty crypto ${encrypt ? "e" : "d"} --help)`,
    );
  // Report a missing input or an existing output before asking for a password.
  for (const { src, dst } of jobs) await checkPaths(src, dst, { force: args.force });
  const key = deriveKey(await obtainPassword(...passwordPlace(args, encrypt)));
  if (jobs.length === 0) {
    const input = counted(stdinChunks());
    await writeStdout((encrypt ? encryptStream : decryptStream)(input, key));
    if (!encrypt) warnWholeBlocks("stdin", input.bytes);
    return;
  }
  for (const { src, dst } of jobs) {
    await (encrypt ? encryptFile : decryptFile)(src, dst, key, { force: args.force });
    if (!encrypt) warnWholeBlocks(src, (await stat(src)).size);
  }
}

/** One line on stderr when a decrypted .enc may have lost whole blocks unnoticed (README "Secrets"). */
function warnWholeBlocks(name: string, length: number): void {
  const warning = wholeBlocksWarning(length);
  if (warning) io().stderr.write(`salty: warning: ${name}: ${warning}\n`);
}

function counted(chunks: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> & { bytes: number } {
  const out = {
    bytes: 0,
    async *[Symbol.asyncIterator]() {
      for await (const chunk of chunks) {
        out.bytes += chunk.length;
        yield chunk;
      }
    },
  };
  return out;
}

/** obtainPassword's arguments: the keyroot found (cmd/_cli.ts) and how. */
function passwordPlace(
  args: CryptoArgs,
  confirm: boolean,
): [string, { confirm: boolean; searched: string[] }] {
  const { dir, searched } = clientKeyroot(args.keyroot);
  return [dir, { confirm, searched }];
}

function decryptedName(src: string): string {
  if (!src.endsWith(".enc") || basename(src) === ".enc")
    throw new UsageError(`${src}: an encrypted file's name ends in .enc`);
  return src.slice(0, -".enc".length);
}

/** `es`/`ds`: one line per STRING; with no STRING, the whole of stdin is one. */
async function runStrings(args: CryptoArgs, encrypt: boolean): Promise<void> {
  if (args._.length === 0 && io().stdin.isTTY)
    throw new UsageError(
      `give STRING or pipe it on stdin (see salty crypto ${encrypt ? "es" : "ds"} --help)`,
    );
  const values = args._.length > 0 ? args._ : [(await io().stdin.text()).replace(/\r?\n$/, "")];
  const key = deriveKey(await obtainPassword(...passwordPlace(args, encrypt)));
  const lines = values.map((v, i) => {
    try {
      return encrypt ? encryptString(v, key) : decryptString(v, key);
    } catch (err) {
      throw values.length > 1 && err instanceof SaltyError
        ? new SaltyError(`string ${i + 1}: ${err.message}`, err.code)
        : err;
    }
  });
  io().stdout.write(lines.join("\n") + "\n");
}

function stdinChunks(): AsyncIterable<Uint8Array> {
  return io().stdin.stream();
}

/** Copy to stdout, waiting for it to drain so memory stays flat whatever the size. */
async function writeStdout(chunks: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const chunk of chunks) await writeChunk(io().stdout, chunk);
}

const fileArg = (description: string) =>
  ({ file: { type: "positional", required: false, description, valueHint: "FILE..." } }) as const;
const stringArg = (description: string) =>
  ({
    string: { type: "positional", required: false, description, valueHint: "STRING..." },
  }) as const;

export default defineCommand({
  meta: {
    name: "crypto",
    description: "Encrypt and decrypt secret files and strings (original salty format)",
  },
  subCommands: {
    e: defineCommand({
      meta: { name: "e", description: "Encrypt FILE... to FILE.enc (no file: stdin to stdout)" },
      args: { ...fileArg("Files to encrypt, each to FILE.enc"), ...clientKeyrootArg, ...forceArg },
      run: ({ args }) => runFiles(args as CryptoArgs, true),
    }),
    d: defineCommand({
      meta: { name: "d", description: "Decrypt FILE.enc... to FILE (no file: stdin to stdout)" },
      args: { ...fileArg("Files ending in .enc to decrypt"), ...clientKeyrootArg, ...forceArg },
      run: ({ args }) => runFiles(args as CryptoArgs, false),
    }),
    es: defineCommand({
      meta: {
        name: "es",
        description: "Encrypt a string, print NACL[...] (no string: read stdin)",
      },
      args: { ...stringArg("Strings to encrypt, one line each"), ...clientKeyrootArg },
      run: ({ args }) => runStrings(args as CryptoArgs, true),
    }),
    ds: defineCommand({
      meta: {
        name: "ds",
        description: "Decrypt a NACL[...] string, print it (no string: read stdin)",
      },
      args: { ...stringArg("NACL[...] strings, with or without NACL[ ]"), ...clientKeyrootArg },
      run: ({ args }) => runStrings(args as CryptoArgs, false),
    }),
  },
});
