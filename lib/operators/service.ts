// service(name, {running, enabled, restartOn, reloadOn}): a systemd or launchd
// service started or stopped, enabled or disabled; restarted (or reloaded)
// when one of the given results changed something and it was running already.
// Plans through the probe: systemd's unit states are asked once per apply
// (of every unit the agent manages, kept on the host's state): over systemd's
// private socket, no process (lib/sys/systemd-bus.ts), else one `systemctl
// show`; launchd per call.

import type { Result, ServiceOpts } from "salty";
import { SaltyError } from "../errors.ts";
import {
  parseLaunchd,
  parseSystemdShow,
  serviceCommands,
  SHOW_PROPS,
  unitName,
  type Init,
  type UnitState,
} from "./_init-commands.ts";
import type { OpCtx, Operator, Plan } from "./types.ts";

/** The init system a call talks to: its `init` option, else the host's facts. */
export function initOf(ctx: OpCtx, init: unknown): Init {
  const me = ctx.locals.me as { facts?: { init?: string } } | undefined;
  const got = init ?? me?.facts?.init;
  if (got !== "systemd" && got !== "launchd")
    throw new SaltyError(
      `no init system salty drives on this host (facts.init: ${String(got ?? "unknown")}; systemd or launchd)`,
      "E_UNSUPPORTED",
    );
  return got;
}

export function checkedUnit(init: Init, name: unknown): string {
  try {
    return unitName(init, name as string);
  } catch (err) {
    throw new SaltyError((err as Error).message, "E_ARG");
  }
}

async function systemctlShow(ctx: OpCtx, names: string[]): Promise<string> {
  const r = await ctx.probe.run(["systemctl", "show", "-p", SHOW_PROPS, "--", ...names]);
  if (r.rc !== 0)
    throw new SaltyError(
      `systemctl show ${names.join(" ")} failed (rc ${r.rc}): ${r.stderr.trim()}`,
      "E_SERVICE",
    );
  return r.stdout;
}

/**
 * systemd's view of `unit`, asked once per apply: the first call of an apply
 * asks `systemctl show` for every unit this agent has managed before as well,
 * so a role's five services cost one command, not five.
 */
async function systemdState(ctx: OpCtx, unit: string): Promise<UnitState | undefined> {
  const kept = ctx.host?.units?.get(unit);
  if (kept) return kept;
  const names = ctx.host
    ? [...new Set([unit, ...ctx.host.knownUnits])].filter((u) => !ctx.host!.units?.has(u))
    : [unit];
  const states = parseSystemdShow(
    (await ctx.probe.systemdShow?.(names)) ?? (await systemctlShow(ctx, names)),
  );
  if (ctx.host) {
    ctx.host.units ??= new Map();
    for (const [u, s] of states) ctx.host.units.set(u, s);
    ctx.host.remember(unit);
  }
  return states.get(unit);
}

async function stateOf(ctx: OpCtx, init: Init, unit: string): Promise<UnitState> {
  if (init === "systemd") {
    const s = await systemdState(ctx, unit);
    if (!s?.loaded) throw new SaltyError(`systemd knows no unit ${unit}`, "E_NO_UNIT");
    return s;
  }
  const [print, disabled] = await Promise.all([
    ctx.probe.run(["launchctl", "print", `system/${unit}`]),
    ctx.probe.run(["launchctl", "print-disabled", "system"]),
  ]);
  return parseLaunchd(unit, print, disabled.stdout);
}

const VERB: Record<string, string> = {
  started: "start",
  stopped: "stop",
  enabled: "enable",
  disabled: "disable",
  restarted: "restart",
  reloaded: "reload",
};

const changedAny = (v: unknown): boolean =>
  [v].flat().some((r) => (r as Result | undefined)?.changed === true);

export const service: Operator<[name: string, opts?: ServiceOpts]> = {
  describe: (name, o) =>
    `service(${name}${o?.running !== undefined ? `, ${o.running ? "running" : "stopped"}` : ""}${o?.enabled !== undefined ? `, ${o.enabled ? "enabled" : "disabled"}` : ""})`,
  async plan(ctx, name, opts = {}): Promise<Plan> {
    const init = initOf(ctx, opts.init);
    const unit = checkedUnit(init, name);
    for (const k of ["running", "enabled"] as const) {
      if (opts[k] !== undefined && typeof opts[k] !== "boolean")
        throw new SaltyError(`${k} must be true or false`, "E_ARG");
    }
    const state = await stateOf(ctx, init, unit);
    const cmds = serviceCommands(init, unit, state, {
      ...(opts.running !== undefined ? { running: opts.running } : {}),
      ...(opts.enabled !== undefined ? { enabled: opts.enabled } : {}),
      restart: changedAny(opts.restartOn),
      reload: changedAny(opts.reloadOn),
    });
    if (cmds.length === 0)
      return {
        changes: [],
        note: `${state.running ? "running" : "stopped"}${state.enabled === undefined ? "" : state.enabled ? ", enabled" : ", disabled"}`,
      };
    const what = cmds.map((c) => c.what).join(", ");
    // Started or restarted now: a restart or reload queued for it earlier would only do it again.
    const fresh = cmds.some((c) => c.what === "started" || c.what === "restarted");
    // A dry run has no apply step: its listing of handlers learns it now.
    if (fresh && ctx.dryRun) await ctx.host?.handlers.satisfied(unit, init, true);
    return {
      changes: cmds.map((c) => ({ kind: "exec" as const, argv: c.argv, timeoutMs: 5 * 60_000 })),
      summary: `${cmds.map((c) => VERB[c.what] ?? c.what).join(", ")} ${unit}`,
      report: async () => {
        if (fresh) await ctx.host?.handlers.satisfied(unit, init, false);
        // What this apply knows now; the next apply reads the states afresh.
        ctx.host?.units?.set(unit, {
          loaded: true,
          running: opts.running ?? state.running,
          enabled: opts.enabled ?? state.enabled,
        });
        return `${unit}: ${what}`;
      },
    };
  },
};
