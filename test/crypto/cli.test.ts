// `salty crypto` through the real CLI, in-process (test/_cli.ts): stdout,
// stderr and exit status checked together; memory and the terminal prompt
// with real processes. What it writes is read back with the
// reference implementation of test/crypto/_vectors.ts.

import { describe, expect, test } from "bun:test";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { MAIN, cliBytes } from "../_cli.ts";
import {
  VECTORS_DIR,
  loadVectors,
  pattern,
  referenceDecryptFile,
  referenceDecryptString,
  referenceKey,
  sha256,
} from "./_vectors.ts";
import { tempDirForFile } from "../_temp.ts";

const MiB = 1024 * 1024;
const PASSWORD = "a test password for the cli";
const v = await loadVectors();
const ref = referenceKey(v, PASSWORD);
const root = tempDirForFile("salty-crypto-cli-");

interface Run {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** `salty crypto ARGS` in `cwd`, with no terminal to prompt on (test/_cli.ts). */
async function salty(
  args: string[],
  opts: { cwd: string; stdin?: Uint8Array | string; password?: string | null },
): Promise<Run> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: root };
  if (opts.password !== null) env.PASSWORD = opts.password ?? PASSWORD;
  return cliBytes(["crypto", ...args], {
    cwd: opts.cwd,
    env,
    ...(opts.stdin === undefined ? {} : { stdin: opts.stdin }),
  });
}

/**
 * Sample a process's peak RSS (VmHWM, which restarts at exec) until stop();
 * null where there is no /proc. Bun's resourceUsage().maxRSS will not do: it
 * counts the parent's pages shared into the child between fork and exec.
 */
function peakRss(pid: number): { stop(): number | null } {
  let peak: number | null = null;
  const sample = () => {
    try {
      const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
      if (kb) peak = Math.max(peak ?? 0, Number(kb) * 1024);
    } catch {
      // gone, or no /proc
    }
  };
  const timer = setInterval(sample, 20);
  return {
    stop: () => {
      clearInterval(timer);
      return peak;
    },
  };
}

let dirs = 0;
/** A fresh directory holding `files`. */
function dir(files: Record<string, Uint8Array | string> = {}): string {
  const d = path.join(root, `case-${++dirs}`);
  mkdirSync(d);
  for (const [name, data] of Object.entries(files)) writeFileSync(path.join(d, name), data);
  return d;
}
const read = (d: string, name: string) => new Uint8Array(readFileSync(path.join(d, name)));
const mode = (d: string, name: string) => statSync(path.join(d, name)).mode & 0o777;
/** For the tests that move tens of MB through processes on a busy 2-core machine. */
const SLOW = 60_000;
const ok = { code: 0, stdout: Buffer.alloc(0), stderr: "" };
/** What d says of a plaintext of whole 1 MiB blocks (the format cannot tell if blocks were cut off), else nothing. */
const wholeBlocks = (name: string, len: number) =>
  len % MiB !== 0
    ? ""
    : `salty: warning: ${name}: ${len === 0 ? "it is empty" : `its plaintext is exactly ${len / MiB} MiB (${len / MiB} whole block${len === MiB ? "" : "s"})`}: the .enc format cannot tell whether blocks were cut off at the end; compare with the original's size\n`;

describe("files", () => {
  test.each([0, 1, MiB, MiB + 1, 50 * MiB])(
    "%d bytes: e writes FILE.enc (0600), d gives the file back",
    async (len) => {
      const plain = pattern(len);
      const d = dir({ "data.bin": plain });
      expect(await salty(["e", "data.bin"], { cwd: d })).toEqual(ok);
      const sealed = read(d, "data.bin.enc");
      expect(sealed.length).toBe(len + 40 * Math.ceil(len / MiB));
      expect(mode(d, "data.bin.enc")).toBe(0o600);
      if (len <= 2 * MiB) expect(sha256(referenceDecryptFile(sealed, ref))).toBe(sha256(plain));
      rmSync(path.join(d, "data.bin"));
      expect(await salty(["d", "data.bin.enc"], { cwd: d })).toEqual({
        ...ok,
        stderr: wholeBlocks("data.bin.enc", len),
      });
      expect(sha256(read(d, "data.bin"))).toBe(sha256(plain));
      expect(mode(d, "data.bin")).toBe(0o600);
      expect(readdirSync(d).sort()).toEqual(["data.bin", "data.bin.enc"]); // no temp file left
    },
    SLOW,
  );

  test("several files at once; d decrypts the original salty's .enc files", async () => {
    const d = dir({ "a.txt": "alpha\n", "b.txt": "beta\n" });
    for (const f of v.files.filter((f) => f.encrypted_file))
      copyFileSync(path.join(VECTORS_DIR, f.encrypted_file!), path.join(d, f.encrypted_file!));
    expect(await salty(["e", "a.txt", "b.txt"], { cwd: d })).toEqual(ok);
    expect(
      await salty(["d", "file-1048576.bin.enc", "file-1048593.bin.enc"], {
        cwd: d,
        password: v.password,
      }),
    ).toEqual({ ...ok, stderr: wholeBlocks("file-1048576.bin.enc", MiB) });
    for (const f of v.files.filter((f) => f.encrypted_file))
      expect(sha256(read(d, f.encrypted_file!.replace(/\.enc$/, "")))).toBe(f.plaintext_sha256);
    expect(referenceDecryptFile(read(d, "b.txt.enc"), ref)).toEqual(
      new TextEncoder().encode("beta\n"),
    );
  });
});

describe("stdin to stdout", () => {
  test.each([0, 1, MiB, MiB + 1, 50 * MiB])(
    "%d bytes round-trip",
    async (len) => {
      const plain = pattern(len);
      const d = dir();
      const enc = await salty(["e"], { cwd: d, stdin: plain });
      expect({ code: enc.code, stderr: enc.stderr, length: enc.stdout.length }).toEqual({
        code: 0,
        stderr: "",
        length: len + 40 * Math.ceil(len / MiB),
      });
      if (len <= 2 * MiB) expect(sha256(referenceDecryptFile(enc.stdout, ref))).toBe(sha256(plain));
      const dec = await salty(["d"], { cwd: d, stdin: enc.stdout });
      expect({ code: dec.code, stderr: dec.stderr, sha: sha256(dec.stdout) }).toEqual({
        code: 0,
        stderr: wholeBlocks("stdin", len),
        sha: sha256(plain),
      });
      expect(readdirSync(d)).toEqual([]);
    },
    SLOW,
  );

  test(
    "200 MB through e | d in flat memory",
    async () => {
      const size = 200 * MiB;
      const env = { PATH: process.env.PATH ?? "", PASSWORD };
      const e = Bun.spawn([process.execPath, MAIN, "crypto", "e"], {
        cwd: root,
        env,
        stdin: "pipe",
        stdout: "pipe",
        stderr: "pipe",
        detached: true,
      });
      const d = Bun.spawn([process.execPath, MAIN, "crypto", "d"], {
        cwd: root,
        env,
        stdin: e.stdout,
        stdout: "pipe",
        stderr: "pipe",
        detached: true,
      });
      const peaks = [e, d].map((p) => peakRss(p.pid));
      const block = pattern(MiB);
      const feed = (async () => {
        for (let sent = 0; sent < size; sent += MiB) {
          e.stdin.write(block);
          await e.stdin.flush();
        }
        await e.stdin.end();
      })();
      const hasher = new Bun.CryptoHasher("sha256");
      let received = 0;
      for await (const chunk of d.stdout) {
        hasher.update(chunk);
        received += chunk.length;
      }
      await feed;
      expect([
        await e.exited,
        await d.exited,
        await new Response(e.stderr).text(),
        await new Response(d.stderr).text(),
      ]).toEqual([0, 0, "", wholeBlocks("stdin", size)]);
      expect(received).toBe(size);
      const expected = new Bun.CryptoHasher("sha256");
      for (let i = 0; i < size; i += MiB) expected.update(block);
      expect(hasher.digest("hex")).toBe(expected.digest("hex"));
      // Peak RSS of each process (about 90 MB here, ~55 MB of it Bun itself):
      // far below the 200 MB that holding the stream would take.
      // Each process peaks near 90 MB here (~55 MB of it Bun itself), for 200 MB
      // or 1 GB alike: far below what holding the stream would take.
      const measured = peaks.map((p) => p.stop());
      if (process.platform !== "linux") return;
      for (const peak of measured) expect(peak).toBeWithin(20 * 1e6, 150 * 1e6);
    },
    SLOW,
  );
});

describe("strings", () => {
  test("es prints one NACL[...] line per string, ds the plaintext", async () => {
    const d = dir();
    const enc = await salty(["es", "hi there", "päss wörd ✓"], { cwd: d });
    expect({ code: enc.code, stderr: enc.stderr }).toEqual({ code: 0, stderr: "" });
    const lines = enc.stdout.toString().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe("");
    expect(lines.slice(0, 2).map((l) => referenceDecryptString(l, ref))).toEqual([
      "hi there",
      "päss wörd ✓",
    ]);
    // "--": a bare base64 string may start with "-" (urlsafe alphabet), which would read as an option.
    expect(await salty(["ds", "--", lines[0]!, lines[1]!.slice(5, -1)], { cwd: d })).toEqual({
      ...ok,
      stdout: Buffer.from("hi there\npäss wörd ✓\n"),
    });
  });

  test("ds reads the original salty's strings; with no argument, stdin is the string", async () => {
    const d = dir();
    const s = v.strings[0]!;
    expect(await salty(["ds", `NACL[${s.encrypted}]`], { cwd: d, password: v.password })).toEqual({
      ...ok,
      stdout: Buffer.from(`${s.plaintext}\n`),
    });
    const enc = await salty(["es"], { cwd: d, stdin: "multi\nline secret\n" });
    expect(enc.code).toBe(0);
    expect(referenceDecryptString(enc.stdout.toString().trimEnd(), ref)).toBe("multi\nline secret");
    expect(await salty(["ds"], { cwd: d, stdin: enc.stdout })).toEqual({
      ...ok,
      stdout: Buffer.from("multi\nline secret\n"),
    });
  });

  test("a bad string among several is named", async () => {
    const good = (await salty(["es", "x"], { cwd: dir() })).stdout.toString().trim();
    expect(await salty(["ds", good, "NACL[AAAA]"], { cwd: dir() })).toEqual({
      code: 1,
      stdout: Buffer.alloc(0),
      stderr:
        "salty: string 2: malformed secret: 3 bytes, less than the 40 of a nonce and authenticator\n",
    });
  });
});

describe("the password", () => {
  test("comes from --keyroot's crypto.pass, with warnings when it is weak", async () => {
    const d = dir();
    mkdirSync(path.join(d, "k"));
    writeFileSync(path.join(d, "k", "crypto.pass"), `${PASSWORD}\n`);
    chmodSync(path.join(d, "k", "crypto.pass"), 0o644);
    const enc = await salty(["es", "--keyroot", "k", "hello"], { cwd: d, password: null });
    expect(enc.code).toBe(0);
    expect(enc.stderr).toBe(
      "salty: warning: k/crypto.pass is accessible by group or others (mode 0644): chmod 600 it\nsalty: warning: k/crypto.pass holds a password shorter than 32 characters\n",
    );
    expect(referenceDecryptString(enc.stdout.toString().trim(), ref)).toBe("hello");
  });

  test("the default keyroot is ./keys; its crypto.pass wins over $PASSWORD, saying so", async () => {
    const d = dir();
    mkdirSync(path.join(d, "keys"));
    writeFileSync(path.join(d, "keys", "crypto.pass"), "x".repeat(64), { mode: 0o600 });
    const enc = await salty(["es", "hello"], { cwd: d, password: null });
    expect({ code: enc.code, stderr: enc.stderr }).toEqual({ code: 0, stderr: "" });
    expect(
      referenceDecryptString(enc.stdout.toString().trim(), referenceKey(v, "x".repeat(64))),
    ).toBe("hello");
    const dec = await salty(["ds", enc.stdout.toString()], { cwd: d });
    const ignored =
      "salty: warning: $PASSWORD is set but not used: keys/crypto.pass is (set $SALTY_PASSWORD to override the file)\n";
    expect(dec).toEqual({ code: 0, stdout: Buffer.from("hello\n"), stderr: ignored });
  });

  test("none and no terminal: a clear error, nothing written", async () => {
    const d = dir({ "a.txt": "secret" });
    const hint =
      "salty: no password: set $SALTY_PASSWORD or write keys/crypto.pass (no terminal to prompt on)\n";
    expect(await salty(["e", "a.txt", "--keyroot", "keys"], { cwd: d, password: null })).toEqual({
      code: 1,
      stdout: Buffer.alloc(0),
      stderr: hint,
    });
    expect(
      await salty(["e", "--keyroot", "keys"], { cwd: d, password: null, stdin: "data" }),
    ).toEqual({ code: 1, stdout: Buffer.alloc(0), stderr: hint });
    expect(readdirSync(d)).toEqual(["a.txt"]);
  });
});

// Drives salty on a pseudo-terminal: waits for each prompt, then types the
// next answer. Prints what the terminal showed and the exit status as JSON.
const PTY_DRIVER = `
import json, os, pty, select, sys, time
answers = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
shown, asked = b"", 0
deadline = time.time() + 30
while time.time() < deadline:
    if select.select([fd], [], [], 0.1)[0]:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        shown += data
    if shown.count(b"Password") > asked and asked < len(answers):
        os.write(fd, answers[asked].encode() + b"\\r")
        asked += 1
status = os.waitpid(pid, 0)[1]
print(json.dumps({"shown": shown.decode(errors="replace"), "code": os.waitstatus_to_exitcode(status)}))
`;

describe.skipIf(!Bun.which("python3") || process.platform === "win32")(
  "the password prompt on a terminal",
  () => {
    async function onTerminal(
      answers: string[],
      args: string[],
    ): Promise<{ shown: string; code: number }> {
      const env = { PATH: process.env.PATH ?? "", HOME: root };
      const proc = Bun.spawn(
        [
          "python3",
          "-c",
          PTY_DRIVER,
          JSON.stringify(answers),
          process.execPath,
          MAIN,
          "crypto",
          ...args,
        ],
        { cwd: dir(), env, stdout: "pipe", stderr: "inherit", detached: true },
      );
      const out = await new Response(proc.stdout).text();
      expect(await proc.exited).toBe(0);
      return JSON.parse(out) as { shown: string; code: number };
    }

    test(
      "es asks twice with echo off; ds asks once",
      async () => {
        const enc = await onTerminal(["typed pw", "typed pw"], ["es", "hello"]);
        expect(enc.code).toBe(0);
        expect(enc.shown).not.toContain("typed pw");
        const lines = enc.shown.split(/\r?\n/).map((l) => l.trim());
        expect(lines.slice(0, 2)).toEqual(["Password:", "Password again:"]);
        expect(referenceDecryptString(lines[2]!, referenceKey(v, "typed pw"))).toBe("hello");
        const dec = await onTerminal(["typed pw"], ["ds", lines[2]!]);
        expect({ code: dec.code, lines: dec.shown.split(/\r?\n/).map((l) => l.trim()) }).toEqual({
          code: 0,
          lines: ["Password:", "hello", ""],
        });
      },
      SLOW,
    );

    test(
      "answers that differ, or Ctrl-C, are refused",
      async () => {
        const enc = await onTerminal(["one", "two"], ["es", "hello"]);
        expect(enc.code).toBe(1);
        expect(enc.shown).toContain("salty: the passwords do not match");
        expect(enc.shown).not.toContain("NACL[");
        const cancelled = await onTerminal(["\x03"], ["ds", "NACL[AAAA]"]);
        expect({
          code: cancelled.code,
          shown: cancelled.shown.split(/\r?\n/).map((l) => l.trim()),
        }).toEqual({ code: 1, shown: ["Password:", "salty: cancelled", ""] });
      },
      SLOW,
    );
  },
);

describe("errors: exit 1 with one clear line, and no output file created or changed", () => {
  const sealed = async (len: number) => {
    const d = dir({ "data.bin": pattern(len) });
    expect(await salty(["e", "data.bin"], { cwd: d })).toEqual(ok);
    rmSync(path.join(d, "data.bin"));
    return d;
  };
  const failure = (stderr: string, code = 1) => ({
    code,
    stdout: Buffer.alloc(0),
    stderr: `salty: ${stderr}\n`,
  });

  test("the wrong password", async () => {
    const d = await sealed(100);
    expect(await salty(["d", "data.bin.enc"], { cwd: d, password: "wrong" })).toEqual(
      failure("data.bin.enc: wrong password or corrupted data in block 1"),
    );
    expect(readdirSync(d)).toEqual(["data.bin.enc"]);
    const piped = await salty(["d"], { cwd: d, password: "wrong", stdin: read(d, "data.bin.enc") });
    expect(piped).toEqual(failure("wrong password or corrupted data in block 1"));
  });

  test("a truncated file names the block", async () => {
    const d = await sealed(MiB + 100);
    truncateSync(path.join(d, "data.bin.enc"), MiB + 40 + 70);
    expect(await salty(["d", "data.bin.enc"], { cwd: d })).toEqual(
      failure(
        "data.bin.enc: truncated or corrupted data in block 2, the last one (70 bytes; the blocks before it decrypted)",
      ),
    );
    truncateSync(path.join(d, "data.bin.enc"), MiB + 40 + 30);
    expect(await salty(["d", "data.bin.enc"], { cwd: d })).toEqual(
      failure(
        "data.bin.enc: truncated data: block 2 has 30 bytes, less than the 40 of a nonce and authenticator",
      ),
    );
    expect(readdirSync(d)).toEqual(["data.bin.enc"]);
  });

  test("a flipped byte names the block", async () => {
    const d = await sealed(3 * MiB);
    const bytes = read(d, "data.bin.enc");
    bytes[2 * (MiB + 40) + 1000]! ^= 0x10;
    writeFileSync(path.join(d, "data.bin.enc"), bytes);
    expect(await salty(["d", "data.bin.enc"], { cwd: d })).toEqual(
      failure("data.bin.enc: wrong password or corrupted data in block 3"),
    );
    expect(readdirSync(d)).toEqual(["data.bin.enc"]);
  });

  test("an existing output file is kept unless --force", async () => {
    const d = dir({ "a.txt": "new", "a.txt.enc": "old" });
    expect(await salty(["e", "a.txt"], { cwd: d })).toEqual(
      failure("a.txt.enc already exists (use --force to overwrite)"),
    );
    expect(readFileSync(path.join(d, "a.txt.enc"), "utf8")).toBe("old");
    expect(await salty(["e", "--force", "a.txt"], { cwd: d })).toEqual(ok);
    expect(referenceDecryptFile(read(d, "a.txt.enc"), ref)).toEqual(
      new TextEncoder().encode("new"),
    );
    writeFileSync(path.join(d, "a.txt"), "kept");
    expect(await salty(["d", "a.txt.enc"], { cwd: d })).toEqual(
      failure("a.txt already exists (use --force to overwrite)"),
    );
    expect(readFileSync(path.join(d, "a.txt"), "utf8")).toBe("kept");
    expect(await salty(["d", "a.txt.enc", "--force"], { cwd: d })).toEqual(ok);
    expect(readFileSync(path.join(d, "a.txt"), "utf8")).toBe("new");
    expect(readdirSync(d).sort()).toEqual(["a.txt", "a.txt.enc"]);
  });

  test("a missing input is named, and nothing is written for the others", async () => {
    const d = dir({ "a.txt": "a" });
    expect(await salty(["e", "a.txt", "nope.txt"], { cwd: d })).toEqual(
      failure("nope.txt: no such file or directory"),
    );
    expect(await salty(["d", "nope.txt.enc"], { cwd: d })).toEqual(
      failure("nope.txt.enc: no such file or directory"),
    );
    expect(readdirSync(d)).toEqual(["a.txt"]);
  });

  test("usage errors exit 2", async () => {
    const d = dir({ "a.txt": "a" });
    expect(await salty(["d", "a.txt"], { cwd: d })).toEqual(
      failure("a.txt: an encrypted file's name ends in .enc", 2),
    );
    const unknown = await salty(["e", "--frobnicate", "a.txt"], { cwd: d });
    expect({ code: unknown.code, stdout: unknown.stdout.length }).toEqual({ code: 2, stdout: 0 });
    expect(unknown.stderr).toStartWith("salty: unknown option --frobnicate");
    expect(readdirSync(d)).toEqual(["a.txt"]);
  });
});
