// pkg(names, {state, update}): packages present, at their latest version, or
// absent, with one package-manager command per call. Plans through the probe
// (read-only, so a dry run is exact): the installed set is read once and kept
// on the agent while the package database file is unchanged, so a no-change
// apply spawns nothing. Acts through exec changes (see _pkg-backends.ts).

import type { PkgOpts } from "salty";
import { SaltyError } from "../errors.ts";
import {
  asUser,
  backend,
  decide,
  LOCK_WAIT_S,
  MANAGERS,
  parseAge,
  type Backend,
  type Installed,
  type Manager,
} from "./_pkg-backends.ts";
import type { Change, OpCtx, Operator, Plan } from "./types.ts";

const NAME = /^[A-Za-z0-9][A-Za-z0-9+._@/-]{0,127}(?::[a-z0-9]+)?$/;
/** A package command may download for a while. */
const COMMAND_TIMEOUT_MS = 30 * 60_000;

function names(v: unknown): string[] {
  const list = typeof v === "string" ? [v] : v;
  if (!Array.isArray(list) || list.length === 0)
    throw new SaltyError("names must be a package name or a non-empty list of them", "E_ARG");
  for (const n of list)
    if (typeof n !== "string" || !NAME.test(n))
      throw new SaltyError(`not a package name: ${JSON.stringify(n)}`, "E_ARG");
  return [...new Set(list as string[])];
}

function managerOf(ctx: OpCtx, opts: PkgOpts): Manager {
  const me = ctx.locals.me as { facts?: { pkg_manager?: string } } | undefined;
  const m = opts.manager ?? me?.facts?.pkg_manager;
  if (!MANAGERS.includes(m as Manager))
    throw new SaltyError(
      `no package manager salty drives on this host (facts.pkg_manager: ${m ?? "unknown"}; apt, dnf, yum, apk or brew)`,
      "E_UNSUPPORTED",
    );
  return m as Manager;
}

/** Homebrew's commands run as the owner of its prefix when the agent is root. */
async function brewUser(ctx: OpCtx, b: Backend): Promise<string | undefined> {
  if ((await ctx.users.self()).uid !== 0) return undefined;
  const r = await ctx.probe.run(["stat", "-f", "%Su", b.db]);
  const user = r.stdout.trim();
  if (r.rc !== 0 || !user || user === "root")
    throw new SaltyError(
      `cannot tell who owns Homebrew (${b.db}): ${r.stderr.trim() || user}`,
      "E_PKG",
    );
  return user;
}

/** The database file's identity: while it holds, the installed set read last time is still true. */
async function dbKey(ctx: OpCtx, b: Backend): Promise<string | undefined> {
  const st = await ctx.observe.stat(b.db);
  return st && `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

async function installedSet(
  ctx: OpCtx,
  m: Manager,
  b: Backend,
  user: string | undefined,
): Promise<Installed> {
  const key = await dbKey(ctx, b);
  const kept = ctx.cache.packages.get(m);
  if (key && kept?.key === key) return kept.installed;
  const r = await ctx.probe.run(asUser(b.list, user));
  if (r.rc !== 0)
    throw new SaltyError(`${b.list.join(" ")} failed (rc ${r.rc}): ${r.stderr.trim()}`, "E_PKG");
  const installed = b.parseList(r.stdout);
  if (key) ctx.cache.packages.set(m, { key, installed });
  return installed;
}

async function newer(
  ctx: OpCtx,
  b: Backend,
  list: string[],
  user: string | undefined,
): Promise<Map<string, string>> {
  if (list.length === 0) return new Map();
  const r = await ctx.probe.run(asUser(b.outdated(list), user));
  // dnf says 100 for "upgrades available", apk and brew 1 in some versions: the listing is what counts.
  if (r.rc !== 0 && r.rc !== 100 && r.rc !== 1)
    throw new SaltyError(
      `${b.outdated(list).join(" ")} failed (rc ${r.rc}): ${r.stderr.trim()}`,
      "E_PKG",
    );
  return b.parseOutdated(r.stdout, list);
}

/** The metadata is older than `update` allows (or was never fetched). */
async function stale(ctx: OpCtx, b: Backend, maxAgeMs: number | false): Promise<boolean> {
  if (!b.lists || maxAgeMs === false) return false;
  const st = await ctx.observe.stat(b.lists.path);
  return !st || Date.now() - Number(st.mtimeNs / 1_000_000n) > maxAgeMs;
}

export const pkg: Operator<[names: string | string[], opts?: PkgOpts]> = {
  describe: (n, opts) =>
    `pkg(${[n].flat().join(", ")}${opts?.state && opts.state !== "present" ? `, ${opts.state}` : ""})`,
  async plan(ctx, n, opts = {}): Promise<Plan> {
    const list = names(n);
    const state = opts.state ?? "present";
    if (!["present", "latest", "absent"].includes(state))
      throw new SaltyError(
        `state must be "present", "latest" or "absent": ${JSON.stringify(state)}`,
        "E_ARG",
      );
    const maxAge = parseArg(() => parseAge(opts.update ?? "1h"));
    const m = managerOf(ctx, opts);
    const b = backend(m);
    const user = m === "brew" ? await brewUser(ctx, b) : undefined;
    const installed = await installedSet(ctx, m, b, user);
    const d = decide({
      names: list,
      state,
      installed,
      newer:
        state === "latest"
          ? await newer(
              ctx,
              b,
              list.filter((x) => installed.has(x)),
              user,
            )
          : undefined,
    });
    if (!d.install.length && !d.upgrade.length && !d.remove.length) {
      return {
        changes: [],
        note:
          state === "absent"
            ? "not installed"
            : state === "latest"
              ? "installed, latest versions"
              : "installed",
      };
    }
    const exec = (argv: string[]): Change => ({
      kind: "exec",
      argv: asUser(argv, user),
      ...(b.env ? { env: b.env } : {}),
      timeoutMs: COMMAND_TIMEOUT_MS,
      ...(b.lockHeld
        ? {
            lockHeld: {
              pattern: b.lockHeld.source,
              message: `another ${m} holds the package lock (waited ${LOCK_WAIT_S}s)`,
            },
          }
        : {}),
    });
    const changes: Change[] = [];
    if ((d.install.length || d.upgrade.length) && (await stale(ctx, b, maxAge)))
      changes.push(exec(b.lists!.refresh));
    if (d.install.length) changes.push(exec(b.install(d.install)));
    if (d.upgrade.length) changes.push(exec(b.upgrade(d.upgrade.map(([x]) => x))));
    if (d.remove.length) changes.push(exec(b.remove(d.remove.map(([x]) => x))));
    const versions = d.install.length
      ? await candidates(ctx, m, b, d.install)
      : new Map<string, string>();
    const summary = [
      d.install.length
        ? `install ${d.install.map((x) => (versions.has(x) ? `${x} ${versions.get(x)}` : x)).join(", ")}`
        : "",
      d.upgrade.length
        ? `upgrade ${d.upgrade.map(([x, from, to]) => `${x} ${from} -> ${to}`).join(", ")}`
        : "",
      d.remove.length ? `remove ${d.remove.map(([x, v]) => `${x} ${v}`).join(", ")}` : "",
    ]
      .filter(Boolean)
      .join("; ");
    return { changes, summary, report: () => report(ctx, m, b, user, d) };
  },
};

/** apt only: the versions that would be installed, for the summary (a dry run's "would install tree 2.1.0-1"). */
async function candidates(
  ctx: OpCtx,
  m: Manager,
  b: Backend,
  list: string[],
): Promise<Map<string, string>> {
  if (m !== "apt") return new Map();
  const r = await ctx.probe.run(b.outdated(list));
  return r.rc === 0 ? b.parseOutdated(r.stdout, list) : new Map();
}

function parseArg<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw new SaltyError((err as Error).message, "E_ARG");
  }
}

/** What was done, with the versions the package manager reports now. */
async function report(
  ctx: OpCtx,
  m: Manager,
  b: Backend,
  user: string | undefined,
  d: ReturnType<typeof decide>,
): Promise<string> {
  ctx.cache.packages.delete(m);
  const now = await installedSet(ctx, m, b, user);
  const lines = [
    ...d.install.map((x) => `installed ${x} ${now.get(x) ?? "(not listed afterwards)"}`),
    ...d.upgrade.map(([x, from]) => `upgraded ${x} ${from} -> ${now.get(x) ?? "?"}`),
    ...d.remove.map(([x, v]) => `removed ${x} ${v}`),
  ];
  return lines.join("\n");
}
