// The handler queue (operators/handlers.ts), the notify option of operators
// (operators/notify.ts through createOperators) and the agent's file journal.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileJournal } from "../../lib/agent/handler-journal.ts";
import { enqueue, Handlers, HostState, type Owed } from "../../lib/operators/handlers.ts";
import { createOperators } from "../../lib/operators/index.ts";
import type { Exec } from "../../lib/sys/types.ts";
import { baseContext, makeWorld } from "./_world.ts";
import { tempDir } from "../_temp.ts";

const h = (service: string, action: "reload" | "restart"): Owed => ({
  service,
  action,
  init: "systemd",
});
const addresses = { myIp: () => undefined, getIps: () => [] };

describe("enqueue", () => {
  test.each([
    [
      "a new service is appended",
      [h("a", "reload")],
      h("b", "reload"),
      [h("a", "reload"), h("b", "reload")],
    ],
    ["the same action again changes nothing", [h("a", "reload")], h("a", "reload"), undefined],
    [
      "restart absorbs a queued reload, in its place",
      [h("a", "reload"), h("b", "reload")],
      h("a", "restart"),
      [h("a", "restart"), h("b", "reload")],
    ],
    ["a reload after a restart changes nothing", [h("a", "restart")], h("a", "reload"), undefined],
  ] as const)("%s", (_what, list, add, expected) => {
    expect(enqueue(list, add)).toEqual(expected as never);
  });
});

describe("Handlers", () => {
  test("a failed handler stays owed; the others are done", async () => {
    const saved: Owed[][] = [];
    const q = new Handlers({ load: async () => [], save: async (o) => void saved.push(o) });
    await q.queue(h("a.service", "reload"), false);
    await q.queue(h("b.service", "restart"), false);
    const exec: Exec = async (argv) => ({
      rc: argv[2] === "a.service" ? 1 : 0,
      output: argv[2] === "a.service" ? "Job failed\n" : "",
    });
    const results = await q.run(exec, false);
    expect(results.map((r) => [r.cmd, r.rc])).toEqual([
      ["handler(reload a.service)", 1],
      ["handler(restart b.service)", 0],
    ]);
    expect(results[0]!.error).toBe(
      "handler(reload a.service): systemctl reload a.service failed (rc 1): Job failed",
    );
    expect(saved.at(-1)).toEqual([h("a.service", "reload")]);
  });

  test("a dry run lists the owed ones and its own, saves nothing, and forgets its own afterwards", async () => {
    const saved: Owed[][] = [];
    const q = new Handlers({
      load: async () => [h("old.service", "restart")],
      save: async (o) => void saved.push(o),
    });
    await q.queue(h("new.service", "reload"), true);
    expect((await q.run(async () => ({ rc: 0, output: "" }), true)).map((r) => r.output)).toEqual([
      "would restart old.service",
      "would reload new.service",
    ]);
    expect(saved).toEqual([]);
    expect((await q.run(async () => ({ rc: 0, output: "" }), true)).map((r) => r.output)).toEqual([
      "would restart old.service",
    ]);
  });
});

describe("a service started or restarted by service() satisfies what was queued for it", () => {
  test("its queued restart is dropped (journal too); another service's stays; a dry run drops it from its listing", async () => {
    const saved: Owed[][] = [];
    const q = new Handlers({ load: async () => [], save: async (o) => void saved.push(o) });
    await q.queue(h("a.service", "restart"), false);
    await q.queue(h("b.service", "reload"), false);
    await q.satisfied("a.service", "systemd", false);
    expect(saved.at(-1)).toEqual([h("b.service", "reload")]);
    await q.queue(h("c.service", "reload"), true);
    await q.satisfied("c.service", "systemd", true);
    expect((await q.run(async () => ({ rc: 0, output: "" }), true)).map((r) => r.output)).toEqual([
      "would reload b.service",
    ]);
  });
});

describe("the notify option", () => {
  test("fires only when its operator changed something; bootstrap skips it unless asked", async () => {
    using w = await makeWorld({
      context: { me: { ...baseContext.me, facts: { init: "systemd" } as never } },
    });
    const host = new HostState();
    const ctx = { ...w.ctx({ host }) };
    const { operators } = createOperators(
      ctx,
      { ...baseContext, me: { ...baseContext.me, facts: { init: "systemd" } as never } },
      { addresses },
    );
    const first = await operators.lineInFile("a=1", "/etc/x.conf", {
      notify: ["app:reload", "web:restart"],
    });
    expect(first.output).toBe(
      "queued: reload app.service (runs at the end of the apply)\nqueued: restart web.service (runs at the end of the apply)",
    );
    const again = await operators.lineInFile("a=1", "/etc/x.conf", { notify: "other:reload" });
    expect(again.output).toBeUndefined();
    const bad = await operators.lineInFile("b=1", "/etc/x.conf", { notify: "app:stop" as never });
    expect(bad.rc).toBe(1);
    expect(bad.error).toContain('notify takes "SERVICE:reload" or "SERVICE:restart": "app:stop"');
    const ran: string[] = [];
    await host.handlers.run(
      async (argv) => (ran.push(argv.join(" ")), { rc: 0, output: "" }),
      false,
    );
    expect(ran).toEqual(["systemctl reload app.service", "systemctl restart web.service"]);

    const boot = createOperators(
      ctx,
      {
        ...baseContext,
        bootstrap: true,
        me: { ...baseContext.me, facts: { init: "systemd" } as never },
      },
      { addresses },
    ).operators;
    expect((await boot.notify("app", "restart")).output).toBe(
      "skipped during bootstrap: restart app.service",
    );
    expect((await boot.notify("app", "restart", { bootstrap: true })).output).toBe(
      "queued: restart app.service (runs at the end of the apply)",
    );
  });
});

describe("the file journal", () => {
  test("written whole (0600, no temporary file left), read back, removed when nothing is owed; garbage reads as empty", async () => {
    using scratch = tempDir("salty-journal-");
    const dir = scratch.path;
    const j = fileJournal(dir);
    expect(await j.load()).toEqual([]);
    await j.save([h("a.service", "restart")]);
    expect(readdirSync(dir)).toEqual(["handlers.json"]);
    expect(statSync(join(dir, "handlers.json")).mode & 0o777).toBe(0o600);
    expect(await j.load()).toEqual([h("a.service", "restart")]);
    expect(JSON.parse(readFileSync(join(dir, "handlers.json"), "utf8"))).toEqual([
      h("a.service", "restart"),
    ]);
    await j.save([]);
    expect(existsSync(join(dir, "handlers.json"))).toBe(false);
    await Bun.write(
      join(dir, "handlers.json"),
      '[{"service":"x","action":"rm -rf","init":"systemd"}]',
    );
    expect(await j.load()).toEqual([]);
  });
});
