// notify(service, action) and the `notify` option of any operator: queue a
// handler (operators/handlers.ts) that runs once at the end of the host's
// apply. The option fires only when its operator changed something. During a
// bootstrap a handler is skipped unless it says { bootstrap: true }.

import type { NotifyOpts, Result } from "salty";
import { SaltyError, errorMessage } from "../errors.ts";
import type { Action, Owed } from "./handlers.ts";
import { checkedUnit, initOf } from "./service.ts";
import type { OpCtx } from "./types.ts";

/** "nginx:reload" -> [service, action]. */
export function parseHandler(spec: unknown): [string, Action] {
  const m = typeof spec === "string" ? /^(.+):(reload|restart)$/.exec(spec) : null;
  if (!m)
    throw new SaltyError(
      `notify takes "SERVICE:reload" or "SERVICE:restart": ${JSON.stringify(spec)}`,
      "E_ARG",
    );
  return [m[1]!, m[2] as Action];
}

/** Queue one handler; the message says what happened (queued, already queued, skipped). */
async function queue(
  ctx: OpCtx,
  service: unknown,
  action: unknown,
  opts: NotifyOpts,
): Promise<string> {
  if (action !== "reload" && action !== "restart")
    throw new SaltyError(
      `action must be "reload" or "restart": ${JSON.stringify(action)}`,
      "E_ARG",
    );
  if (!ctx.host) throw new SaltyError("handlers are not available here", "E_NO_HANDLERS");
  const init = initOf(ctx, opts.init);
  const h: Owed = { service: checkedUnit(init, service), action, init };
  if (ctx.locals.bootstrap === true && opts.bootstrap !== true)
    return `skipped during bootstrap: ${action} ${h.service}`;
  return ctx.host.handlers.queue(h, ctx.dryRun);
}

/** notify(service, action, opts): one Result, never changed (the handler's own Result comes at the end). */
export async function notify(
  ctx: OpCtx,
  service: string,
  action: Action,
  opts: NotifyOpts = {},
): Promise<Result> {
  const cmd = `notify(${String(service)}, ${String(action)})`;
  try {
    return {
      cmd,
      rc: 0,
      changed: false,
      elapsed: 0,
      output: await queue(ctx, service, action, opts),
    };
  } catch (err) {
    return { cmd, rc: 1, changed: false, elapsed: 0, error: `${cmd}: ${errorMessage(err)}` };
  }
}

/** The `notify` option of an operator call that changed something: queued, and said in its output. */
export async function notifyOption(ctx: OpCtx, args: unknown[], result: Result): Promise<void> {
  const opts = args[args.length - 1];
  if (typeof opts !== "object" || opts === null || !("notify" in opts)) return;
  const { notify: spec, ...rest } = opts as {
    notify: unknown;
    bootstrap?: unknown;
    init?: unknown;
  };
  if (!result.changed || result.rc !== 0) return;
  try {
    const lines: string[] = [];
    for (const one of [spec].flat()) {
      const [service, action] = parseHandler(one);
      // The call's own init (service, unit) says which init system its handlers talk to.
      const init =
        rest.init === "systemd" || rest.init === "launchd"
          ? { init: rest.init as "systemd" | "launchd" }
          : {};
      lines.push(
        await queue(ctx, service, action, {
          ...(rest.bootstrap === true ? { bootstrap: true } : {}),
          ...init,
        }),
      );
    }
    result.output = [result.output, ...lines].filter(Boolean).join("\n");
  } catch (err) {
    Object.assign(result, { rc: 1, error: `${result.cmd}: ${errorMessage(err)}` });
  }
}
