import { stat } from "node:fs/promises";
import { defineCommand } from "citty";
import { clientKeyroot, clientKeyrootArg as keyrootArg } from "./_cli.ts";
import { SaltyError, UsageError } from "../lib/errors.ts";
import { fingerprint, loadIdentity } from "../lib/crypto/keys.ts";
import { lookedNote } from "../lib/client/keyroot.ts";
import { KeyStore, type KeyEntry, type KeyKind } from "../lib/master/keystore.ts";

const idArg = { id: { type: "positional", required: true, description: "The agent's (or client's) id", valueHint: "ID" } } as const;
const kindArg = { kind: { type: "string", description: "agent or client, when an id is used by both", valueHint: "KIND" } } as const;

/** The keyroot's KeyStore (--keyroot, else found: cmd/_cli.ts); the running master reads the same files and sees changes at once. */
async function store(given: string | undefined): Promise<KeyStore> {
  const { dir, searched } = clientKeyroot(given);
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new SaltyError(`keyroot ${dir} does not exist (see --keyroot)${lookedNote(searched)}`, "E_NO_KEYROOT");
  return new KeyStore(dir);
}

function kindOf(kind: string | undefined): KeyKind | undefined {
  if (kind === undefined || kind === "agent" || kind === "client") return kind;
  throw new UsageError(`--kind must be agent or client, not ${kind}`);
}

function table(entries: KeyEntry[]): string {
  const rows = [["ID", "KIND", "STATUS", "FINGERPRINT"], ...entries.map((e) => [e.id, e.kind, e.status, e.fingerprint])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")).join("\n");
}

const say = (line: string) => process.stdout.write(line + "\n");

export default defineCommand({
  meta: { name: "keys", description: "List, accept, reject and delete agent keys" },
  subCommands: {
    list: defineCommand({
      meta: { name: "list", description: "Show pending, accepted and rejected keys with fingerprints" },
      args: { ...keyrootArg },
      async run({ args }) {
        const ks = await store(args.keyroot);
        const entries = await ks.list();
        say(entries.length ? table(entries) : `no agent or client keys in ${ks.keyroot}`);
      },
    }),
    accept: defineCommand({
      meta: { name: "accept", description: "Accept a pending key (or every pending key with --all)" },
      args: { ...keyrootArg, id: { ...idArg.id, required: false }, all: { type: "boolean", description: "Accept every pending key" }, ...kindArg },
      async run({ args }) {
        if (args.all && args.id) throw new UsageError("salty keys accept takes an ID or --all, not both");
        if (!args.all && !args.id) throw new UsageError("salty keys accept needs an ID or --all");
        const ks = await store(args.keyroot);
        if (args.all) {
          const done = await ks.acceptAll(kindOf(args.kind));
          for (const e of done) say(`accepted ${e.kind} ${e.id} ${e.fingerprint}`);
          if (!done.length) say("no pending keys");
          return;
        }
        const e = await ks.accept(args.id!, kindOf(args.kind));
        say(e.was === "accepted" ? `${e.kind} ${e.id} was already accepted ${e.fingerprint}` : `accepted ${e.kind} ${e.id} ${e.fingerprint} (was ${e.was})`);
      },
    }),
    reject: defineCommand({
      meta: { name: "reject", description: "Reject a key: that id is refused until its key is deleted" },
      args: { ...keyrootArg, ...idArg, ...kindArg },
      async run({ args }) {
        const e = await (await store(args.keyroot)).reject(args.id, kindOf(args.kind));
        say(e.was === "rejected" ? `${e.kind} ${e.id} was already rejected ${e.fingerprint}` : `rejected ${e.kind} ${e.id} ${e.fingerprint} (was ${e.was})`);
      },
    }),
    delete: defineCommand({
      meta: { name: "delete", description: "Forget a key: the host may ask again with a new one" },
      args: { ...keyrootArg, ...idArg, ...kindArg },
      async run({ args }) {
        const e = await (await store(args.keyroot)).delete(args.id, kindOf(args.kind));
        say(`deleted ${e.kind} ${e.id} ${e.fingerprint} (was ${e.status})`);
      },
    }),
    fingerprint: defineCommand({
      meta: { name: "fingerprint", description: "Print the master's key fingerprint (compare it with what agents log)" },
      args: { ...keyrootArg },
      async run({ args }) {
        const ks = await store(args.keyroot);
        say(fingerprint((await loadIdentity(ks.keyroot, "master")).publicKey));
      },
    }),
  },
});
