import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { defineCommand } from "./_command.ts";
import { clientKeyroot, clientKeyrootArg as keyrootArg } from "./_cli.ts";
import { SaltyError, UsageError } from "../lib/errors.ts";
import { fingerprint, loadIdentity } from "../lib/crypto/keys.ts";
import { lookedNote } from "../lib/client/keyroot.ts";
import { KeyStore, type KeyEntry, type KeyKind } from "../lib/master/keystore.ts";
import { DbKeyRecords, KEYS_DB_FILE } from "../lib/master/keystore-db.ts";
import { isPostgresUrl, openPostgres } from "../lib/history/postgres.ts";
import { confirm } from "./_confirm.ts";
import { io } from "./_io.ts";

const idArg = {
  id: {
    type: "positional",
    required: true,
    description: "The agent's (or client's) id",
    valueHint: "ID",
  },
} as const;
const dbArg = {
  db: {
    type: "string",
    description:
      "The database several masters share (postgres://…); default: the one the keyroot's master was started with (--db), else the key files",
    valueHint: "URL",
  },
} as const;
const kindArg = {
  kind: {
    type: "string",
    description: "agent or client, when an id is used by both",
    valueHint: "KIND",
  },
} as const;

/**
 * The keyroot's KeyStore (--keyroot, else found: cmd/_cli.ts); the running master reads the same files and sees
 * changes at once. With --db, or a keyroot whose master runs with --db (KEYROOT/keys-db), the shared database's.
 */
async function store(given: string | undefined, dbGiven?: string): Promise<KeyStore> {
  const { dir, searched } = clientKeyroot(given);
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory())
    throw new SaltyError(
      `keyroot ${dir} does not exist (see --keyroot)${lookedNote(searched)}`,
      "E_NO_KEYROOT",
    );
  const db =
    dbGiven ?? (await readFile(join(dir, KEYS_DB_FILE), "utf8").catch(() => undefined))?.trim();
  if (!db) return new KeyStore(dir);
  if (!isPostgresUrl(db)) throw new UsageError("--db must be a postgres:// or postgresql:// URL");
  const records = new DbKeyRecords(openPostgres(db));
  closers.push(() => records.close());
  return new KeyStore(dir, {}, records);
}

/** Database connections to close before the command returns. */
const closers: Array<() => Promise<void>> = [];
async function closing<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } finally {
    for (const c of closers.splice(0)) await c().catch(() => {});
  }
}

function kindOf(kind: string | undefined): KeyKind | undefined {
  if (kind === undefined || kind === "agent" || kind === "client") return kind;
  throw new UsageError(`--kind must be agent or client, not ${kind}`);
}

function table(entries: KeyEntry[]): string {
  const rows = [
    ["ID", "KIND", "STATUS", "FROM", "FIRST CONTACT", "FINGERPRINT"],
    ...entries.map((e) => [
      e.id,
      e.kind,
      e.status,
      e.address ?? "-",
      e.firstContact ?? "-",
      e.fingerprint,
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  "))
    .join("\n");
}

const say = (line: string): void => void io().stdout.write(line + "\n");

/**
 * Agent keys only: anyone who reaches the master can plant pending keys, and a client key can
 * apply and read every secret, so client keys are accepted by id. On a terminal the operator sees
 * the count and confirms; elsewhere --yes must say so (a script must not accept strangers blindly).
 */
async function acceptAll(ks: KeyStore, kind: KeyKind | undefined, yes: boolean): Promise<void> {
  if (kind === "client")
    throw new UsageError(
      "--all accepts agent keys only; accept a client key by its id: salty keys accept ID --kind client",
    );
  const pending = await ks.pending("agent");
  if (!pending.length) return say("no pending agent keys");
  const what = `${pending.length} pending agent key${pending.length === 1 ? "" : "s"}`;
  if (!yes) {
    const answer = confirm(`accept ${what}? ("salty keys list" shows them)`);
    if (answer === null)
      throw new UsageError(
        `salty keys accept --all: ${what}; add --yes to accept them without a question (there is no terminal to ask on)`,
      );
    if (!answer) return say("nothing accepted");
  }
  for (const e of await ks.acceptAll(pending)) say(`accepted ${e.kind} ${e.id} ${e.fingerprint}`);
}

export default defineCommand({
  meta: { name: "keys", description: "List, accept, reject and delete agent keys" },
  subCommands: {
    list: defineCommand({
      meta: {
        name: "list",
        description: "Show pending, accepted and rejected keys with fingerprints",
      },
      args: { ...keyrootArg, ...dbArg },
      run: ({ args }) =>
        closing(async () => {
          const ks = await store(args.keyroot, args.db);
          const entries = await ks.list();
          say(entries.length ? table(entries) : `no agent or client keys in ${ks.where}`);
        }),
    }),
    accept: defineCommand({
      meta: {
        name: "accept",
        description:
          "Accept a pending key, or every pending agent key with --all (client keys one by one, with --kind client)",
      },
      args: {
        ...keyrootArg,
        id: { ...idArg.id, required: false },
        all: {
          type: "boolean",
          description: "Accept every pending agent key (asks first on a terminal)",
        },
        yes: {
          type: "boolean",
          description: "With --all: do not ask (needed when there is no terminal)",
        },
        ...kindArg,
        ...dbArg,
      },
      run: ({ args }) =>
        closing(async () => {
          if (args.all && args.id)
            throw new UsageError("salty keys accept takes an ID or --all, not both");
          if (!args.all && !args.id) throw new UsageError("salty keys accept needs an ID or --all");
          if (args.yes && !args.all)
            throw new UsageError(
              "--yes goes with --all (accepting one key by its id asks nothing)",
            );
          const ks = await store(args.keyroot, args.db);
          if (args.all) return acceptAll(ks, kindOf(args.kind), Boolean(args.yes));
          const e = await ks.accept(args.id!, kindOf(args.kind));
          say(
            e.was === "accepted"
              ? `${e.kind} ${e.id} was already accepted ${e.fingerprint}`
              : `accepted ${e.kind} ${e.id} ${e.fingerprint} (was ${e.was})`,
          );
        }),
    }),
    reject: defineCommand({
      meta: {
        name: "reject",
        description: "Reject a key: that id is refused until its key is deleted",
      },
      args: { ...keyrootArg, ...idArg, ...kindArg, ...dbArg },
      run: ({ args }) =>
        closing(async () => {
          const e = await (await store(args.keyroot, args.db)).reject(args.id, kindOf(args.kind));
          say(
            e.was === "rejected"
              ? `${e.kind} ${e.id} was already rejected ${e.fingerprint}`
              : `rejected ${e.kind} ${e.id} ${e.fingerprint} (was ${e.was})`,
          );
        }),
    }),
    delete: defineCommand({
      meta: {
        name: "delete",
        description:
          "Forget a key (the host may ask again with a new one), or every pending key with --pending",
      },
      args: {
        ...keyrootArg,
        id: { ...idArg.id, required: false },
        pending: {
          type: "boolean",
          description: "Delete every pending key (of --kind, or both kinds)",
        },
        ...kindArg,
        ...dbArg,
      },
      run: ({ args }) =>
        closing(async () => {
          if (args.pending && args.id)
            throw new UsageError("salty keys delete takes an ID or --pending, not both");
          if (!args.pending && !args.id)
            throw new UsageError("salty keys delete needs an ID or --pending");
          const ks = await store(args.keyroot, args.db);
          if (args.pending) {
            const gone = await ks.deletePending(kindOf(args.kind));
            return say(
              `deleted ${gone.length} pending ${args.kind ?? "agent and client"} key${gone.length === 1 ? "" : "s"}`,
            );
          }
          const e = await ks.delete(args.id!, kindOf(args.kind));
          say(`deleted ${e.kind} ${e.id} ${e.fingerprint} (was ${e.status})`);
        }),
    }),
    fingerprint: defineCommand({
      meta: {
        name: "fingerprint",
        description: "Print the master's key fingerprint (compare it with what agents log)",
      },
      args: { ...keyrootArg },
      async run({ args }) {
        const ks = await store(args.keyroot);
        say(fingerprint((await loadIdentity(ks.keyroot, "master")).publicKey));
      },
    }),
  },
});
