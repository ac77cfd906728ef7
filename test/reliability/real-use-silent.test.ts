// Nothing succeeds silently (issue 12), with real processes: a roles=/skip=
// name that is no role, a target that matches nothing, a typo of target=, an
// inventory role without a file, a host that is not connected, cluster names
// that are Object.prototype's; target globs; output proportional to what ran;
// a master restart with agents coming back. Each case asserts stdout, stderr
// and the exit status.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { world, type World } from "../e2e/_harness.ts";

type Host = { roles: string[]; tags?: string[]; ignore_missing?: boolean };

const inventory = (
  prod: Record<string, Host>,
  stage: Record<string, Host> = { st1: { roles: ["base"], ignore_missing: true } },
) => {
  const hosts = (m: Record<string, Host>) =>
    Object.fromEntries(Object.entries(m).map(([id, h]) => [id, { env: "lab", ...h }]));
  return `export default ${JSON.stringify({ clusters: { prod: {}, stage: {} }, envs: { lab: {} }, hosts: { prod: hosts(prod), stage: hosts(stage) } }, null, 2)};\n`;
};

const standard = inventory({
  web1: { roles: ["base", "web", "frontend"], tags: ["frontend"] },
  web2: { roles: ["base", "web"] },
  web3: { roles: ["base"] },
});

const files: Record<string, string> = {
  "hosts/index.ts": standard,
  "roles/base.ts": `export default async ({ copy, shell, fail, id }) => {
  await copy("base/motd", "/etc/motd");
  if (fail === id) await shell("echo boom; exit 3");
};\n`,
  "roles/web.ts": `export default async ({ copy }) => { await copy("base/motd", "/etc/web"); };\n`,
  "files/base/motd": "hello\n",
};

let w: World;
const apply = (...args: string[]) => w.salty(["apply", "--keyroot", w.keyroot, ...args]);
const setInventory = (text: string) => writeFileSync(join(w.fileroot, "hosts/index.ts"), text);

beforeAll(async () => {
  w = await world({ files });
  await w.startMaster(["--auto-accept"]);
  // web3 is in the inventory but never started; web9 is connected but not in the inventory.
  await Promise.all(["web1", "web2", "web9"].map((id) => w.startAgent(id)));
  await w.waitHosts(["web1", "web2", "web9"]);
});

afterAll(async () => {
  await w?.[Symbol.asyncDispose]();
});

describe("names that are neither a role nor a tag", () => {
  test("roles=wbe: usage error naming it, with the near name", async () => {
    const r = await apply("roles=wbe");
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      "salty: apply: roles=wbe: no role or tag of that name (no roles/wbe.ts, and no host lists it under tags); did you mean web?\n",
    );
    expect(r.code).toBe(2);
  });

  test("skip=wbe: the same", async () => {
    const r = await apply("skip=wbe", "target=web1");
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(
      /^salty: apply: skip=wbe: no role or tag of that name .*did you mean web\?\n$/,
    );
    expect(r.code).toBe(2);
  });

  test("a declared tag is a valid roles= name; it runs nothing and the roles left out read as skipped", async () => {
    const r = await apply("-v", "target=web1", "roles=frontend");
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(
      /^host:web1 elapsed:\S+ errors:0 changed:0\n {2}role:base ...role skipped...\n {2}role:web {2}...role skipped...\n/m,
    );
    expect(r.stdout).not.toContain("frontend");
    expect(r.code).toBe(0);
  });

  test("an inventory role without roles/NAME.ts: inventory error naming host and role", async () => {
    setInventory(inventory({ web1: { roles: ["base", "nofile"] }, web2: { roles: ["base"] } }));
    try {
      const r = await apply("target=web2");
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe(
        `salty: apply: hosts/index.ts: hosts.prod.web1: role "nofile" has no roles/nofile.ts (a name that is only a tag goes in the host's tags: [...] too)\n`,
      );
      expect(r.code).toBe(1);
    } finally {
      setInventory(standard);
    }
  });

  test("a tag that is not one of the host's roles: inventory error", async () => {
    setInventory(inventory({ web1: { roles: ["base"], tags: ["frontend"] } }));
    try {
      const r = await apply("target=web1");
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe(
        `salty: apply: hosts/index.ts: hosts.prod.web1: tag "frontend" is not one of its roles (a tag is a role name without roles/frontend.ts)\n`,
      );
      expect(r.code).toBe(1);
    } finally {
      setInventory(standard);
    }
  });
});

describe("targets", () => {
  test("target=nomatch*: no host matched, exit 2", async () => {
    const r = await apply("target=nomatch*");
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe("salty: apply: no host matched target=nomatch*\n");
    expect(r.code).toBe(2);
  });

  test("target=web9, a connected agent that is not in the inventory: no host matched, and why", async () => {
    const r = await apply("target=web9");
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      "salty: apply: no host matched target=web9 (connected but not in hosts/index.ts: web9)\n",
    );
    expect(r.code).toBe(2);
  });

  test("trgt=prod1: a near miss of target= is a usage error, not a context variable", async () => {
    for (const [arg, near] of [
      ["trgt=prod1", "target"],
      ["rolse=web", "roles"],
      ["skp=web", "skip"],
      ["Target=web1", "target"],
    ] as const) {
      const r = await apply(arg);
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe(
        `salty: ${arg.split("=")[0]}=: did you mean ${near}=? (a key this close to ${near} is taken for a typo, not a context variable)\n`,
      );
      expect(r.code).toBe(2);
    }
  });

  test.each(["constructor", "__proto__", "toString", "hasOwnProperty"])(
    "target=cluster:%s is no cluster",
    async (name) => {
      const r = await apply(`target=cluster:${name}`);
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe(
        `salty: apply: target=cluster:${name}: no cluster ${name} in the inventory (known: prod, stage)\n`,
      );
      expect(r.code).toBe(2);
    },
  );

  test("__proto__=a,b would set the context's prototype: usage error", async () => {
    const r = await apply("target=web1", "__proto__=a,b");
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe("salty: __proto__=: not a usable name\n");
    expect(r.code).toBe(2);
  });

  test("target='web[12]' and target='{web1,web2}' are globs", async () => {
    for (const target of ["web[12]", "{web1,web2}"]) {
      const r = await apply(`target=${target}`);
      expect(r.stderr).toBe("");
      // Roles are listed when they changed something (the first of the two applies).
      // Blocks come in completion order (issue 17).
      const hostLines = r.stdout
        .split("\n")
        .filter((l) => l.startsWith("host:"))
        .sort();
      expect(hostLines).toEqual([
        expect.stringMatching(/^host:web1 elapsed:\S+ errors:0 changed:\d+$/),
        expect.stringMatching(/^host:web2 elapsed:\S+ errors:0 changed:\d+$/),
      ]);
      expect(r.stdout).toEndWith(
        `\nskipped 2 hosts outside target=${target}\n\nelapsed:${r.stdout.split("elapsed:").at(-1)}`,
      );
      expect(r.code).toBe(0);
    }
  });

  test("an inventory glob entry is matched by the same matcher", async () => {
    setInventory(inventory({ "web[12]": { roles: ["base"] } }, {}));
    try {
      const r = await apply("-v");
      expect(r.stderr).toBe("");
      expect(r.stdout).toMatch(/^host:web1 elapsed:\S+ errors:0 changed:\d+\n {2}role:base /m);
      expect(r.stdout).toMatch(/^host:web2 elapsed:/m);
      expect(r.stdout).not.toContain("web9");
      expect(r.code).toBe(0);
    } finally {
      setInventory(standard);
    }
  });
});

describe("hosts that are not connected", () => {
  test("an untargeted apply with an inventory host not connected: ...host missing..., exit 1", async () => {
    const r = await apply("--sort");
    expect(r.stderr).toBe("host:web3 ...host missing...\n");
    expect(r.stdout).toMatch(
      /^\nhost:web1 elapsed:\S+ errors:0 changed:\d+\nhost:web2 elapsed:\S+ errors:0 changed:\d+\n\nelapsed:\S+\n$/,
    );
    expect(r.code).toBe(1);
  });

  test("a glob target that covers it: missing too; ignore_missing keeps it quiet (shown with -v)", async () => {
    const r = await apply("target=web*");
    expect(r.stderr).toBe("host:web3 ...host missing...\n");
    expect(r.code).toBe(1);
    setInventory(
      standard.replace(
        `"web3": {\n        "env": "lab",`,
        `"web3": {\n        "env": "lab",\n        "ignore_missing": true,`,
      ),
    );
    try {
      const quiet = await apply("target=web*");
      expect(quiet.stderr).toBe("");
      expect(quiet.stdout).not.toContain("web3");
      expect(quiet.code).toBe(0);
      const verbose = await apply("-v", "target=web*");
      expect(verbose.stdout).toContain("host:web3 ...host not connected...\n");
      expect(verbose.code).toBe(0);
    } finally {
      setInventory(standard);
    }
  });
});

describe("output proportional to what ran", () => {
  test("hosts outside the target are one count line, not a line each", async () => {
    const r = await apply("-vv", "target=web1");
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("\nskipped 3 hosts outside target=web1\n");
    expect(r.stdout).not.toMatch(/host:(web2|web3|st1)/);
    expect(r.stdout).not.toContain("...host skipped...");
    expect(r.code).toBe(0);
  });

  test("roles left out by roles= read as skipped, never errors:0 changed:0", async () => {
    const r = await apply("-vv", "target=web1", "roles=web");
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^ {2}role:base ...role skipped...$/m);
    expect(r.stdout).not.toMatch(/role:base +elapsed/);
    expect(r.stdout).toMatch(/^ {2}role:web +elapsed:\S+ errors:0 changed:0$/m);
    expect(r.code).toBe(0);
  });

  test("a failed host's lines are one block on stderr, in order; the other host's on stdout", async () => {
    const r = await apply("-vv", "target=web[12]", "roles=base", "fail=web2");
    expect(r.code).toBe(1);
    // At -vv each command's line comes as it ends: the failed one on stderr, the others on stdout.
    expect(r.stderr).toMatch(
      /^web2\| role:base \{"cmd":"shell\(echo boom; exit 3\)","rc":3.*\nhost:web2 elapsed:\S+ errors:1 changed:1\n {2}role:base elapsed:\S+ errors:1 changed:1\n {2}role:web {2}...role skipped...\n$/,
    );
    expect(r.stdout).toMatch(/^web2\| role:base \{"cmd":"copy\(base\/motd, \/etc\/motd\)","rc":0/m);
    expect(r.stdout).not.toContain("host:web2");
    expect(r.stdout).toMatch(/^host:web1 elapsed:\S+ errors:0 changed:0\n {2}role:base elapsed/m);
    expect(r.stdout).toContain("skipped 2 hosts outside target=web[12]\n");
  });
});

describe("a master restart", () => {
  // The agents' own backoff and the master's wait are the defaults here: only the keep-alive is shortened.
  const timing = JSON.stringify({
    pingIntervalMs: 300,
    peerTimeoutMs: 2000,
    handshakeTimeoutMs: 2000,
  });

  test("an apply at once after the restart waits for the known agents: those back run, the one still away is missing", async () => {
    await using v = await world({ files, timing });
    await v.startMaster(["--auto-accept"]);
    await Promise.all(["web1", "web2", "web3"].map((id) => v.startAgent(id)));
    await v.waitHosts(["web1", "web2", "web3"]);
    const web3 = v.agents.get("web3")!;
    web3.kill("SIGKILL");
    await web3.proc.exited;
    v.master!.kill("SIGKILL");
    await v.master!.proc.exited;
    await v.startMaster(["--auto-accept"]);
    const r = await v.salty(["apply", "--sort", "--keyroot", v.keyroot]);
    expect(r.stderr).toMatch(
      /^waiting up to \d\.\ds for [1-3] known agents? to reconnect \(the master has just started\)\nhost:web3 ...host missing...\n$/,
    );
    expect(r.stdout).toMatch(
      /^\nhost:web1 elapsed:\S+ errors:0 changed:\d+\n(  role:.*\n)*host:web2 elapsed:\S+ errors:0 changed:\d+\n(  role:.*\n)*\nelapsed:\S+\n$/,
    );
    expect(r.code).toBe(1);
  }, 30_000);
});
