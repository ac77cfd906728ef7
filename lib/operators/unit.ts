// unit(name, src, {vars, init}): a systemd unit (/etc/systemd/system/NAME)
// or a launchd plist (/Library/LaunchDaemons/NAME.plist) rendered from the
// fileroot like render(); when it changed, systemd is told at once
// (`systemctl daemon-reload` after the write, in the same plan), and the unit
// states this apply read are forgotten so that service() sees the new unit.

import type { UnitOpts } from "salty";
import { render } from "./render.ts";
import { checkedUnit, initOf } from "./service.ts";
import { unitPath } from "./_init-commands.ts";
import type { Operator, Plan } from "./types.ts";

export const unit: Operator<[name: string, src: string, opts?: UnitOpts]> = {
  describe: (name, src) => `unit(${name}, ${src})`,
  async plan(ctx, name, src, opts = {}): Promise<Plan> {
    const init = initOf(ctx, opts.init);
    checkedUnit(init, name);
    const plan = await render.plan(ctx, src, unitPath(init, name), {
      mode: 0o644,
      ...(opts.vars ? { vars: opts.vars } : {}),
    });
    if (plan.changes.length === 0) return { ...plan, note: plan.note ?? "unit unchanged" };
    if (ctx.host) ctx.host.units = undefined;
    const reload =
      init === "systemd"
        ? [{ kind: "exec" as const, argv: ["systemctl", "daemon-reload"], timeoutMs: 5 * 60_000 }]
        : [];
    return { ...plan, changes: [...plan.changes, ...reload] };
  },
};
