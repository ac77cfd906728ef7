// Attacks by an accepted agent (and a local user) on the master and on the
// other hosts, against the real binary: facts that carry shell commands or
// lie about their addresses, serverShell, file reads outside files/ or outside
// a role run, --path escapes through symlinked parents, the control socket.
// Each case failed before its fix (docs/reliability.md, S1-S11).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { setLogSink } from "../../lib/log.ts";
import { world, type World } from "../e2e/_harness.ts";
import { rogueAgent, until } from "./_tools.ts";

setLogSink(() => {});

type Call = (method: string, params: unknown) => Promise<unknown>;
const callOf = (r: { rpc: { call: unknown } }): Call => (r.rpc.call as Call).bind(r.rpc);

const iface = (device: string, ipv4: string, over: Record<string, unknown> = {}) => ({
  device,
  mac: "52:54:00:00:00:01",
  ipv4,
  ipv4_network: `${ipv4}/24`,
  is_private: true,
  is_public: false,
  is_loopback: false,
  is_bridge: false,
  ...over,
});
const factsWith = (interfaces: unknown[] | undefined) => ({
  kernel: "Linux",
  machine: "x86_64",
  os: { name: "Linux", version: "1" },
  cpu_count: 1,
  mem_gb: 1,
  hostname: "evil",
  ...(interfaces ? { networking: { interfaces } } : {}),
});

describe("facts are claims of the host (S1)", () => {
  let w: World;
  const marker = () => join(w.dir, "pwned-by-facts");
  beforeAll(async () => {
    w = await world({
      files: {
        "hosts/index.ts": `export default { clusters: { lab: {} }, envs: { lab: {} }, hosts: { lab: {
  good: { env: "lab", roles: ["db"] },
  "evil*": { env: "lab", roles: ["web"], ignore_missing: true },
} } };\n`,
        "roles/web.ts": "export default async () => {};\n",
        // The pattern of the attack: addresses pasted into a command line (no quote(), no argv).
        "roles/db.ts": `export default async ({ shell, getIps, print, hosts }) => {
  const ips = getIps("web");
  print("web=" + JSON.stringify(ips));
  print("flags=" + JSON.stringify(Object.values(hosts).flatMap((h) => (h.facts?.networking.interfaces ?? []).map((i) => i.ipv4 + ":" + i.is_private))));
  await shell(\`echo "\${ips.join(" ")}"\`);
};\n`,
      },
    });
    await w.startMaster(["--auto-accept"]);
    await w.startAgent("good");
    await w.waitHosts(["good"]);
  });
  afterAll(async () => {
    await w?.[Symbol.asyncDispose]();
  });

  test("an ipv4 carrying a command never reaches another host's shell; lying flags are ignored; what was dropped is logged once", async () => {
    const evil = await rogueAgent(w.port, w.keyroot, "evil1");
    const injected = `10.66.66.66"; touch ${marker()}; echo "`;
    const facts = factsWith([
      iface("eth0", injected),
      iface("eth1", "8.8.8.8", { is_private: true }), // public, claimed private
      iface("eth2", "10.1.2.3", { is_private: false, is_public: true }), // private, claimed public
    ]);
    await callOf(evil)("agent.hello", { facts, version: "rogue" });
    await callOf(evil)("agent.facts", { facts }); // the same again: not logged twice
    const r = await w.salty(["apply", "--keyroot", w.keyroot, "-vv", "target=good"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('| web=["10.1.2.3"]');
    expect(r.stdout).toContain('| flags=["8.8.8.8:false","10.1.2.3:true"]');
    expect(existsSync(marker())).toBe(false);
    const hosts = JSON.parse((await w.salty(["hosts", "--json", "--keyroot", w.keyroot])).stdout);
    expect(hosts.evil1.facts.networking.interfaces.map((i: { ipv4: string }) => i.ipv4)).toEqual([
      "8.8.8.8",
      "10.1.2.3",
    ]);
    await until(
      () => /agent\.facts_dropped id=evil1/.test(w.master!.output),
      5000,
      "the drop logged",
    );
    expect(w.master!.output.match(/agent\.facts_dropped id=evil1/g)?.length).toBe(1);
    expect(w.master!.output).toContain("networking.interfaces[0]: ipv4 is not an IPv4 address");
    evil.raw.close();
  });

  test("facts without networking do not make the cluster's getIps() roles fail", async () => {
    const evil = await rogueAgent(w.port, w.keyroot, "evil2");
    await callOf(evil)("agent.hello", { facts: factsWith(undefined), version: "rogue" });
    const r = await w.salty(["apply", "--keyroot", w.keyroot, "-vv", "target=good"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    evil.raw.close();
  });
});

describe("file reads: only files/, only during a role run, no dot entries in scans (S7)", () => {
  let w: World;
  const SECRETS = [
    "INVENTORY-TEXT",
    "ROLE-SOURCE",
    "DOTENV-SECRET",
    "PASS-BACKUP",
    "GIT-REMOTE-URL",
    "DOT-GIT-UNDER-FILES",
  ];
  beforeAll(async () => {
    w = await world({
      files: {
        "hosts/index.ts": `// INVENTORY-TEXT\nexport default { clusters: { lab: {} }, envs: { lab: {} }, hosts: { lab: {
  good: { env: "lab", roles: ["sync"] },
  "evil*": { env: "lab", roles: ["web"], ignore_missing: true },
} } };\n`,
        "roles/web.ts": "// ROLE-SOURCE\nexport default async () => {};\n",
        "roles/sync.ts": `export default async ({ syncdir }) => {
  await syncdir("files/web/static", "/srv/static");
  await syncdir("files/web/static/.well-known", "/srv/well-known");
};\n`,
        ".env": "TOKEN=DOTENV-SECRET\n",
        "crypto.pass.bak": "PASS-BACKUP\n",
        ".git/config": "[remote] url = GIT-REMOTE-URL\n",
        "files/web/page.txt": "a page\n",
        "files/web/.env": "named-directly\n",
        "files/web/.git/config": "DOT-GIT-UNDER-FILES\n",
        "files/web/static/a.txt": "a\n",
        "files/web/static/.htaccess": "deny\n",
        "files/web/static/.well-known/x": "x\n",
      },
    });
    await w.startMaster(["--auto-accept"]);
    await w.startAgent("good");
    await w.waitHosts(["good"]);
  });
  afterAll(async () => {
    await w?.[Symbol.asyncDispose]();
  });

  /** Whatever came back as text; not JSON.stringify's replacer, which a Buffer's toJSON runs before. */
  const text = (v: unknown): string => {
    if (v instanceof Error) return v.message;
    if (v instanceof Uint8Array) return new TextDecoder().decode(v);
    if (Array.isArray(v)) return `[${v.map(text).join(",")}]`;
    if (v && typeof v === "object")
      return `{${Object.entries(v)
        .map(([k, x]) => `${k}:${text(x)}`)
        .join(",")}}`;
    return String(v);
  };
  /** Every way of asking for each path; returns what was not refused. */
  async function tryAll(call: Call, paths: string[]): Promise<string[]> {
    const served: string[] = [];
    for (const path of paths) {
      for (const [method, params] of [
        ["file.fetch", { path }],
        ["file.read", { path, offset: 0, length: 4096 }],
        ["file.readMany", { reads: [{ path, offset: 0, length: 4096 }] }],
        ["file.hashes", { paths: [path] }],
        ["file.scan", { dir: path }],
        ["file.scanSince", { dir: path, have: "" }],
      ] as const) {
        const got = await call(method, params).catch((e: Error) => e);
        for (const s of SECRETS)
          if (text(got).includes(s)) served.push(`${method} ${path} leaked ${s}`);
        const refused =
          got instanceof Error ||
          (method === "file.hashes" && Array.isArray(got) && got.every((x) => x === null));
        if (!refused) served.push(`${method} ${path}`);
      }
    }
    return served;
  }
  const OUTSIDE = [
    "hosts/index.ts",
    "hosts",
    "roles/web.ts",
    "roles",
    ".env",
    "crypto.pass.bak",
    ".git/config",
    ".git",
    ".",
    "files/../hosts/index.ts",
    "files/web/../../.env",
  ];

  test("before its hello and between applies an accepted agent reads nothing, not even files/", async () => {
    const evil = await rogueAgent(w.port, w.keyroot, "evil-early");
    const call = callOf(evil);
    expect(await tryAll(call, ["files/web/page.txt", "files/web", ...OUTSIDE])).toEqual([]);
    await call("agent.hello", { facts: factsWith([]), version: "rogue" });
    expect(await tryAll(call, ["files/web/page.txt", "files/web", ...OUTSIDE])).toEqual([]);
    await expect(call("file.fetch", { path: "files/web/page.txt" })).rejects.toThrow(
      "file reads are refused outside a role run",
    );
    evil.raw.close();
  });

  test("during its role run: files/ is served, nothing outside it, scans leave out dot entries, a dot file named directly is served", async () => {
    let seen: { outside: string[]; page: string; scan: string[]; dotenv: string } | undefined;
    const evil = await rogueAgent(w.port, w.keyroot, "evil-run", async (req) => {
      const call = callOf(evil);
      seen = {
        outside: await tryAll(call, OUTSIDE),
        page: text(await call("file.fetch", { path: "files/web/page.txt" })),
        scan: ((await call("file.scan", { dir: "files/web" })) as Array<{ path: string }>).map(
          (e) => e.path,
        ),
        dotenv: text(await call("file.fetch", { path: "files/web/.env" })),
      };
      return { role: req.role, elapsed: 0, results: [] };
    });
    await callOf(evil)("agent.hello", { facts: factsWith([]), version: "rogue" });
    const r = await w.salty(["apply", "--keyroot", w.keyroot, "target=evil-run"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(seen!.outside).toEqual([]);
    expect(seen!.page).toContain("a page");
    expect(seen!.scan).toEqual(["page.txt", "static", "static/a.txt"]);
    expect(seen!.dotenv).toContain("named-directly");
    evil.raw.close();
  });

  test("a real syncdir leaves dot entries out on both sides; a dot directory named as the source is synced", async () => {
    const box = w.sandbox("good");
    mkdirSync(join(box, "srv/static"), { recursive: true });
    writeFileSync(join(box, "srv/static/.keep"), "mine\n");
    const r = await w.salty(["apply", "--keyroot", w.keyroot, "-vv", "target=good"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(readdirSync(join(box, "srv/static")).sort()).toEqual([".keep", "a.txt"]);
    expect(readdirSync(join(box, "srv/well-known"))).toEqual(["x"]);
    const again = await w.salty(["apply", "--keyroot", w.keyroot, "target=good"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("changed:0");
  });
});

describe("serverShell names a command the master declares (S3)", () => {
  let w: World;
  const marker = () => join(w.dir, "pwned-on-master");
  beforeAll(async () => {
    w = await world({
      files: {
        "hosts/index.ts": `export default { clusters: { lab: {} }, envs: { lab: {} }, hosts: { lab: { "evil*": { env: "lab", roles: ["web"], ignore_missing: true } } } };\n`,
        "roles/web.ts": "export default async () => {};\n",
        "server/hello": `#!/bin/sh\necho "hello $SALTY_AGENT $*"\n`,
        "server/readme": "not a program\n",
      },
    });
    chmodSync(join(w.fileroot, "server/hello"), 0o755);
    symlinkSync("/bin/sh", join(w.fileroot, "server/sh"));
    symlinkSync("../roles/web.ts", join(w.fileroot, "server/up"));
    await w.startMaster(["--auto-accept", "--allow-server-shell"]);
  });
  afterAll(async () => {
    await w?.[Symbol.asyncDispose]();
  });

  test("in its own role run an agent can choose only the name and JSON args: no command line, cwd, env, path or other role", async () => {
    const answers: string[] = [];
    const evil = await rogueAgent(w.port, w.keyroot, "evil-shell", async (req) => {
      const call = callOf(evil);
      for (const params of [
        { cmds: `touch ${marker()}` }, // the request of the old API: the agent's own command line
        {
          cmds: `touch ${marker()}`,
          cwd: "/",
          env: { LD_PRELOAD: "/tmp/x.so" },
          name: "hello",
          role: "web",
          args: ["; touch", marker()],
        },
        { name: "sh", role: "web", args: ["-c", `touch ${marker()}`] },
        { name: "up", role: "web" },
        { name: "readme", role: "web" },
        { name: ".hidden", role: "web" },
        { name: "hello", role: "db" },
        { name: "hello", role: "web", args: "x".repeat(70_000) },
      ]) {
        const got = await call("server.shell", params).catch((e: Error) => e);
        answers.push(got instanceof Error ? got.message : (got as { output: string }).output);
      }
      return { role: req.role, elapsed: 0, results: [] };
    });
    await callOf(evil)("agent.hello", { facts: factsWith([]), version: "rogue" });
    const r = await w.salty(["apply", "--keyroot", w.keyroot, "target=evil-shell"]);
    expect(r.code).toBe(0);
    expect(answers).toEqual([
      "server.shell: name must be a string, got undefined",
      `hello evil-shell ; touch ${marker()}\n`,
      "server.shell: path escapes the fileroot through a symlink: sh",
      "server.shell: path escapes the fileroot through a symlink: up",
      "server.shell: server/readme on the master is not an executable file",
      'server.shell: serverShell names a command of the master\'s server/ directory, not ".hidden"',
      'server.shell: serverShell from role "db", which is not one of this host\'s roles in this apply',
      "server.shell: args of 70002 bytes exceed the limit of 65536",
    ]);
    expect(existsSync(marker())).toBe(false);
    // Every call logged with the agent, the role and the command; refusals too.
    expect(w.master!.output).toMatch(
      /master\.server_shell id=evil-shell role=web command=hello rc=0/,
    );
    expect(w.master!.output).toMatch(
      /master\.server_shell_refused id=evil-shell role=web command=sh error=/,
    );
    expect(w.master!.output).toMatch(
      /master\.server_shell_refused id=evil-shell error=.*not one of this host's roles/,
    );
    evil.raw.close();
  });
});

describe("the control socket serves root and the master's user only (S5)", () => {
  const USER = "saltyprobe";
  const asRoot = process.getuid?.() === 0;
  /** An unprivileged user to attack with (made here when missing: the suite runs as root in CI). */
  function probeUser(): { uid: number; gid: number } {
    const id = (flag: string) => Bun.spawnSync(["id", flag, USER]);
    if (id("-u").exitCode !== 0) {
      const made = Bun.spawnSync(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER],
        { stderr: "pipe" },
      );
      if (made.exitCode !== 0) throw new Error(`useradd ${USER}: ${made.stderr.toString()}`);
    }
    return {
      uid: Number(id("-u").stdout.toString().trim()),
      gid: Number(id("-g").stdout.toString().trim()),
    };
  }
  /** `salty ARGS` as that user, with no groups. */
  async function asUser(w: World, u: { uid: number; gid: number }, args: string[]) {
    const p = Bun.spawn(
      ["setpriv", `--reuid=${u.uid}`, `--regid=${u.gid}`, "--clear-groups", "--", w.bin, ...args],
      { cwd: "/", env: { PATH: "/usr/bin:/bin" }, stdout: "pipe", stderr: "pipe" },
    );
    const [stdout, stderr, code] = await Promise.all([
      new Response(p.stdout).text(),
      new Response(p.stderr).text(),
      p.exited,
    ]);
    return { code, stdout, stderr };
  }
  const files = {
    "hosts/index.ts": `export default { clusters: { lab: {} }, envs: { lab: {} }, hosts: { lab: {} } };\n`,
  };

  test.skipIf(!asRoot)(
    "another user is refused on a socket forced to mode 0666 in a keyroot opened to 0755; root is served",
    async () => {
      const u = probeUser();
      await using w = await world({ files });
      chmodSync(w.dir, 0o755); // the attack's condition: the path to the keyroot is open
      await w.startMaster(["--auto-accept"]);
      chmodSync(w.keyroot, 0o755);
      chmodSync(join(w.keyroot, "master.sock"), 0o666);
      const r = await asUser(w, u, ["hosts", "--json", "--keyroot", w.keyroot]);
      expect(r.stdout).toBe("");
      // Refused as the connection opens (a reset at connect) or just after (closed before the reply).
      expect(r.stderr).toMatch(/^salty: (hosts: )?connection lost/);
      expect(r.code).not.toBe(0);
      await until(
        () => w.master!.output.includes(`uid ${u.uid} refused`),
        5000,
        "the refusal logged",
      );
      expect(w.master!.output).toContain(
        `control socket: uid ${u.uid} refused (it serves root and uid 0 only)`,
      );
      const root = await w.salty(["hosts", "--json", "--keyroot", w.keyroot]);
      expect(root.code).toBe(0);
      expect(root.stdout.trim()).toBe("{}");
    },
  );

  test("a keyroot others can read is closed at start (logged); one others can write is refused with a clear line", async () => {
    await using w = await world({ files });
    chmodSync(w.keyroot, 0o755);
    await w.startMaster(["--auto-accept"]);
    expect((statSync(w.keyroot).mode & 0o777).toString(8)).toBe("700");
    expect(w.master!.output).toMatch(/master\.keyroot_mode_fixed keyroot=\S+ was=0755 now=0700/);
    expect((statSync(join(w.keyroot, "master.sock")).mode & 0o777).toString(8)).toBe("600");
    expect(readdirSync(w.keyroot).filter((n) => n.startsWith(".sock-"))).toEqual([]);

    await using open = await world({ files });
    chmodSync(open.keyroot, 0o777);
    const p = Bun.spawn(
      [
        open.bin,
        "master",
        "--bind",
        "127.0.0.1:0",
        "--keyroot",
        open.keyroot,
        "--fileroot",
        open.fileroot,
      ],
      { stdout: "pipe", stderr: "pipe" },
    );
    const timer = setTimeout(() => p.kill("SIGKILL"), 10_000);
    const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
    clearTimeout(timer);
    expect(code).toBe(1);
    expect(stderr).toContain(
      `the keyroot ${open.keyroot} is writable by group or others (mode 0777): check what is in it, then chmod 700 ${open.keyroot}`,
    );
    expect(existsSync(join(open.keyroot, "master.sock"))).toBe(false);
  });
});

describe("--path: writes stay under the prefix, symlinked parents or not (S11)", () => {
  test("every writer refuses a destination whose parent is a symlink out of the sandbox; a symlink that stays inside still works", async () => {
    await using w = await world({
      files: {
        "hosts/index.ts": `export default { clusters: { lab: {} }, envs: { lab: {} }, hosts: { lab: { good: { env: "lab", roles: ["esc"] } } } };\n`,
        "roles/esc.ts": `export default async ({ copy, render, makedirs, lineInFile, syncdir, symlink, remove, outside }) => {
  await copy("esc/f", "/opt/esc/f");
  await render("esc/t.conf", "/opt/esc/t.conf");
  await makedirs("/opt/esc/d");
  await lineInFile("x=1", "/opt/esc/l");
  await syncdir("files/esc/tree", "/opt/esc/tree");
  await symlink("t", "/opt/esc/link");
  await remove("/opt/esc/victim");
  await copy("esc/f", "/opt/esc/existing");
  await symlink(outside, "/opt/made");
  await copy("esc/f", "/opt/made/g");
  await copy("esc/f", "/opt/in/f");
};\n`,
        "files/esc/f": "payload\n",
        "files/esc/t.conf": "rendered\n",
        "files/esc/tree/a": "a\n",
      },
    });
    const outside = join(w.dir, "outside");
    mkdirSync(outside);
    writeFileSync(join(outside, "victim"), "keep me\n");
    writeFileSync(join(outside, "existing"), "old\n");
    const box = w.sandbox("good");
    mkdirSync(join(box, "opt"), { recursive: true });
    mkdirSync(join(box, "var/in"), { recursive: true });
    symlinkSync(outside, join(box, "opt/esc"));
    symlinkSync("../var/in", join(box, "opt/in"));
    await w.startMaster(["--auto-accept"]);
    await w.startAgent("good");
    await w.waitHosts(["good"]);
    const r = await w.salty([
      "apply",
      "--keyroot",
      w.keyroot,
      "-vv",
      "target=good",
      `outside=${outside}`,
    ]);
    expect(r.code).toBe(1);
    const refused = [
      ...(r.stdout + r.stderr).matchAll(
        /"cmd":"([^"]+)","rc":1[^\n]*refusing to write (\S+): a symlink on the way leads out of --path \S+ \(to ([^)]+)\)/g,
      ),
    ].map((m) => `${m[1]} ${m[2]} ${m[3]}`);
    expect(refused).toEqual([
      `copy(esc/f, /opt/esc/f) /opt/esc/f ${outside}`,
      `render(esc/t.conf, /opt/esc/t.conf) /opt/esc/t.conf ${outside}`,
      `makedirs(/opt/esc/d, 0o755) /opt/esc/d ${outside}`,
      `lineInFile(/opt/esc/l, x=1) /opt/esc/l ${outside}`,
      `syncdir(files/esc/tree, /opt/esc/tree) /opt/esc/tree ${outside}`,
      `symlink(t, /opt/esc/link) /opt/esc/link ${outside}`,
      `remove(/opt/esc/victim) /opt/esc/victim ${outside}`,
      `copy(esc/f, /opt/esc/existing) /opt/esc/existing ${outside}`,
      `copy(esc/f, /opt/made/g) /opt/made/g ${outside}`,
    ]);
    expect(readdirSync(outside).sort()).toEqual(["existing", "victim"]);
    expect(readFileSync(join(outside, "victim"), "utf8")).toBe("keep me\n");
    expect(readFileSync(join(outside, "existing"), "utf8")).toBe("old\n");
    expect(r.stdout + r.stderr).toMatch(/"cmd":"copy\(esc\/f, \/opt\/in\/f\)","rc":0/);
    expect(readFileSync(join(box, "var/in/f"), "utf8")).toBe("payload\n");
  });
});
