import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { defineCommand } from "./_command.ts";
import { clientKeyroot, clientKeyrootArg } from "./_cli.ts";
import { SaltyError, UsageError } from "../lib/errors.ts";
import { lookedNote } from "../lib/client/keyroot.ts";
import { openStore } from "../lib/history/open.ts";
import { parseDuration } from "../lib/history/job-id.ts";
import { TokenStore, tokenId, type TokenInfo } from "../lib/deploy/tokens.ts";
import { KEYS_DB_FILE } from "../lib/master/keystore-db.ts";
import { io } from "./_io.ts";

const storeArgs = {
  ...clientKeyrootArg,
  db: {
    type: "string",
    description:
      "The master's --db (postgres://...); default: the keyroot's master's --db (KEYROOT/keys-db), else KEYROOT/history.db",
    valueHint: "URL",
  },
} as const;

/** The master's token store: the job history's database, opened directly (the master reads it on every request). */
async function withTokens<T>(
  args: { keyroot?: string | undefined; db?: string | undefined },
  fn: (t: TokenStore) => Promise<T>,
): Promise<T> {
  const { dir, searched } = clientKeyroot(args.keyroot);
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory())
    throw new SaltyError(
      `keyroot ${dir} does not exist (see --keyroot)${lookedNote(searched)}`,
      "E_NO_KEYROOT",
    );
  // A keyroot whose master runs with --db: its tokens are in that database, not in KEYROOT/history.db.
  const db =
    args.db ?? (await readFile(join(dir, KEYS_DB_FILE), "utf8").catch(() => undefined))?.trim();
  const store = openStore({ keyroot: dir, ...(db ? { db } : {}) });
  try {
    return await fn(new TokenStore(store));
  } finally {
    await store.close();
  }
}

const iso = (ms: number | undefined) =>
  ms === undefined ? "never" : new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");

function state(t: TokenInfo): string {
  if (t.revoked !== undefined) return "revoked";
  if (t.expires !== undefined && t.expires <= Date.now()) return "expired";
  return "valid";
}

function table(tokens: TokenInfo[]): string {
  const rows = [
    ["ID", "NAME", "PROJECT", "DEPLOYMENT", "CREATED", "EXPIRES", "STATE"],
    ...tokens.map((t) => [
      t.id,
      t.name || "-",
      t.project,
      t.deployment ?? "*",
      iso(t.created),
      iso(t.expires),
      state(t),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  "))
    .join("\n");
}

const say = (line: string): void => void io().stdout.write(line + "\n");

export default defineCommand({
  meta: {
    name: "token",
    description: "Deploy tokens: issue, list, revoke, inspect (salty deploy)",
  },
  subCommands: {
    issue: defineCommand({
      meta: {
        name: "issue",
        description: "Issue a token that can deploy PROJECT (and only it); printed once",
      },
      args: {
        project: {
          type: "positional",
          required: true,
          description: "The project it may deploy",
          valueHint: "PROJECT",
        },
        deployment: {
          type: "string",
          description: "Only this deployment of the project",
          valueHint: "D",
        },
        expires: {
          type: "string",
          description: "Valid this long, e.g. 90d (default: until revoked)",
          valueHint: "AGE",
        },
        name: {
          type: "string",
          description: "A name to tell tokens apart, e.g. ci",
          valueHint: "NAME",
        },
        ...storeArgs,
      },
      async run({ args }) {
        const expiresInMs =
          args.expires === undefined ? undefined : parseDuration(args.expires, "--expires");
        const { token, info } = await withTokens(args, (t) =>
          t.issue({
            project: args.project,
            ...(args.deployment ? { deployment: args.deployment } : {}),
            ...(args.name ? { name: args.name } : {}),
            ...(expiresInMs !== undefined ? { expiresInMs } : {}),
          }),
        );
        io().stderr.write(
          `token ${info.id} for ${info.project}/${info.deployment ?? "*"}, expires ${iso(info.expires)}; it is shown once, the master keeps only its hash\n`,
        );
        say(token);
      },
    }),
    list: defineCommand({
      meta: {
        name: "list",
        description: "Every token: id, name, project, deployment, expiry, state (never the secret)",
      },
      args: { json: { type: "boolean", description: "As JSON" }, ...storeArgs },
      async run({ args }) {
        const tokens = await withTokens(args, (t) => t.list());
        if (args.json) say(JSON.stringify(tokens, null, 2));
        else if (tokens.length === 0) io().stderr.write("no tokens\n");
        else say(table(tokens));
      },
    }),
    revoke: defineCommand({
      meta: {
        name: "revoke",
        description: "Revoke a token by its id: refused from the next request on",
      },
      args: {
        id: {
          type: "positional",
          required: true,
          description: "The token's id (salty token list)",
          valueHint: "ID",
        },
        ...storeArgs,
      },
      async run({ args }) {
        const found = await withTokens(args, (t) => t.revoke(args.id));
        if (!found)
          throw new SaltyError(`no token ${args.id} (see salty token list)`, "E_NOT_FOUND");
        say(`revoked ${args.id}`);
      },
    }),
    inspect: defineCommand({
      meta: {
        name: "inspect",
        description: "What a token may do: project, deployments, expiry, state (never the secret)",
      },
      args: {
        token: {
          type: "positional",
          required: true,
          description: "The token (or $SALTY_TOKEN with -)",
          valueHint: "TOKEN",
        },
        ...storeArgs,
      },
      async run({ args }) {
        const text = args.token === "-" ? (io().env.SALTY_TOKEN ?? "") : args.token;
        const id = tokenId(text);
        if (!id) throw new UsageError("not a salty deploy token (salty_ID_SECRET)");
        const result = await withTokens(args, async (t) => {
          const info = await t.get(id);
          if (!info) return undefined;
          // Only a token whose secret matches is described as valid.
          const valid = await t.authenticate(text).then(
            () => true,
            () => false,
          );
          return { info, valid };
        });
        if (!result) throw new SaltyError(`no token ${id} in this master's store`, "E_NOT_FOUND");
        const { info, valid } = result;
        const st = valid ? "valid" : state(info) === "valid" ? "bad secret" : state(info);
        say(
          `id: ${info.id}\nname: ${info.name || "-"}\nproject: ${info.project}\ndeployments: ${info.deployment ?? "all"}\ncreated: ${iso(info.created)}\nexpires: ${iso(info.expires)}\nstate: ${st}`,
        );
        return valid ? 0 : 1;
      },
    }),
  },
});
