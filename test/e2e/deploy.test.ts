// Deploy bundles end to end (issue 20): the compiled binary as a master with
// the deploy API over real TLS on loopback (a self-signed certificate made
// here with openssl) and two agents. Tokens are scoped (401/403, revocation
// at once); hostile bundles are refused with the live release and every host
// untouched; a deploy goes live and is applied to the hosts top.ts selects,
// from a fileroot of its own; the event stream resumes; rollback restores.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  readdirSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { connect, createServer, type Socket } from "node:net";
import { world, type World } from "./_harness.ts";

const files: Record<string, string> = {
  "hosts/index.ts": `export default {
  clusters: { lab: {} },
  envs: { prod: { greeting: "hello" } },
  hosts: { lab: { web1: { env: "prod", roles: ["base", "web"] }, web2: { env: "prod", roles: ["base", "web"] }, db1: { env: "prod", roles: ["base"], ignore_missing: true } } },
};
`,
  "roles/base.ts": `export default async () => {};\n`,
  "roles/web.ts": `export default async () => {};\n`,
  // The base fileroot's own secret: no project's role may read it.
  "files/base/secret.txt": "base-fileroot-secret\n",
};

let w: World;
let url = "";
let cert = "";
const tokens: Record<string, string> = {};

const salty = (...args: string[]) => w.salty([...args, "--keyroot", w.keyroot]);

async function issue(...args: string[]): Promise<string> {
  const r = await salty("token", "issue", ...args);
  expect(r.code).toBe(0);
  return r.stdout.trim();
}

/** A ustar archive from raw entries (hostile ones included), checksums right. */
function rawTar(
  entries: Array<{ name: string; type?: string; data?: string | Uint8Array; link?: string }>,
): Uint8Array {
  const enc = new TextEncoder();
  const blocks: Uint8Array[] = [];
  for (const e of entries) {
    const data = typeof e.data === "string" ? enc.encode(e.data) : (e.data ?? new Uint8Array());
    const h = new Uint8Array(512);
    const put = (s: string, at: number, len: number) => h.set(enc.encode(s).subarray(0, len), at);
    put(e.name, 0, 100);
    put("0000644", 100, 8);
    put("0000000", 108, 8);
    put("0000000", 116, 8);
    put(data.length.toString(8).padStart(11, "0"), 124, 12);
    put("00000000000", 136, 12);
    h.fill(32, 148, 156);
    h[156] = (e.type ?? "0").charCodeAt(0);
    put(e.link ?? "", 157, 100);
    put("ustar\u000000", 257, 8);
    let sum = 0;
    for (const b of h) sum += b;
    put(sum.toString(8).padStart(6, "0") + "\u0000 ", 148, 8);
    blocks.push(h, data, new Uint8Array((512 - (data.length % 512)) % 512));
  }
  blocks.push(new Uint8Array(1024));
  return Buffer.concat(blocks);
}

const TOP = `export default { prod: { "role:web": ["app"] }, dev: { "web1": ["app"] } } satisfies Record<string, Record<string, string[]>>;\n`;
const APP = (version: string) => `export default async ({ id, me, copy, file }) => {
  await file("/etc/app/version", { content: "${version} " + me.vars.greeting + "\\n" });
  await copy("app/app.conf", "/etc/app/app.conf");
  await copy("_artifacts/build/app.bin", "/opt/app/app.bin");
};
`;

/** A good bundle as raw entries: top.ts, roles/app.ts, files/app/app.conf, an artifact. */
function goodBundle(version: string): Uint8Array {
  return rawTar([
    { name: "top.ts", data: TOP },
    { name: "roles/app.ts", data: APP(version) },
    { name: "files/app/app.conf", data: `conf ${version}\n` },
    { name: "_artifacts/build/app.bin", data: `binary ${version}\n` },
  ]);
}

async function post(path: string, token: string | undefined, body?: Uint8Array): Promise<Response> {
  return fetch(`${url}${path}`, {
    method: "POST",
    ...(body ? { body } : {}),
    headers: token ? { authorization: `Bearer ${token}` } : {},
    tls: { ca: cert },
  } as RequestInit);
}

async function get(
  path: string,
  token: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${url}${path}`, {
    headers: { authorization: `Bearer ${token}`, ...headers },
    tls: { ca: cert },
  } as RequestInit);
}

/** The SSE events of a response, to its end. */
async function sse(
  res: Response,
): Promise<Array<{ id: number; event: string; data: Record<string, unknown> }>> {
  const text = await res.text();
  return text
    .split("\n\n")
    .filter((b) => b.includes("event: "))
    .map((b) => {
      const line = (k: string) =>
        b
          .split("\n")
          .find((l) => l.startsWith(`${k}: `))
          ?.slice(k.length + 2) ?? "";
      return {
        id: Number(line("id")),
        event: line("event"),
        data: JSON.parse(line("data")) as Record<string, unknown>,
      };
    });
}

const liveLink = () =>
  existsSync(join(w.dir, "deploys/demo/prod/live"))
    ? readlinkSync(join(w.dir, "deploys/demo/prod/live"))
    : undefined;

/** Every file under the agents' sandboxes with its content: what a refused deploy must leave as it is. */
function sandboxes(): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const n of readdirSync(dir)) {
      const p = join(dir, n);
      if (statSync(p).isDirectory()) walk(p);
      else out[p] = readFileSync(p, "utf8");
    }
  };
  walk(join(w.dir, "sandbox"));
  return out;
}

beforeAll(async () => {
  w = await world({ files });
  cert = join(w.dir, "cert.pem");
  const key = join(w.dir, "key.pem");
  const ssl = Bun.spawnSync(
    [
      "openssl",
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
    ],
    { stderr: "pipe" },
  );
  expect(ssl.exitCode).toBe(0);
  cert = readFileSync(cert, "utf8");
  writeFileSync(join(w.dir, "ca.pem"), cert);
  tokens.demo = await issue("demo", "--name", "ci");
  tokens.demoDev = await issue("demo", "--deployment", "dev");
  tokens.other = await issue("other");
  const m = await w.startMaster([
    "--auto-accept",
    "--http",
    "127.0.0.1:0",
    "--tls-cert",
    join(w.dir, "cert.pem"),
    "--tls-key",
    key,
    "--deploy-max-entries",
    "50",
    "--deploy-max-mb",
    "1",
    "--deploy-keep",
    "3",
  ]);
  url = `https://127.0.0.1:${(await m.waitFor(/master\.http bind=127\.0\.0\.1:(\d+)/))[1]}`;
  await Promise.all(["web1", "web2"].map((id) => w.startAgent(id)));
  await w.waitHosts(["web1", "web2"]);
}, 120_000);

afterAll(async () => {
  await w?.[Symbol.asyncDispose]();
});

describe("tokens", () => {
  test("no token, a bad one, another project's, another deployment's: 401, 401, 403, 403; nothing goes live", async () => {
    expect((await post("/v1/deploy/demo/prod", undefined, goodBundle("x"))).status).toBe(401);
    expect(
      (await post("/v1/deploy/demo/prod", `${tokens.demo!.slice(0, -4)}AAAA`, goodBundle("x")))
        .status,
    ).toBe(401);
    expect(
      (await post("/v1/deploy/demo/prod", "salty_000000000000_" + "A".repeat(43), goodBundle("x")))
        .status,
    ).toBe(401);
    const other = await post("/v1/deploy/demo/prod", tokens.other, goodBundle("x"));
    expect(other.status).toBe(403);
    expect(await other.text()).toContain("is for project other, not demo");
    expect((await post("/v1/deploy/demo/prod", tokens.demoDev, goodBundle("x"))).status).toBe(403);
    expect((await get("/v1/releases/other", tokens.demo!)).status).toBe(403);
    expect(liveLink()).toBeUndefined();
  });

  test("list and inspect never show the secret; revoke holds at the next request, without a restart", async () => {
    const t = await issue("demo", "--name", "short-lived");
    // SALTY_ID_SECRET, the secret base64url: it may hold "_" itself (split("_") cut it, or left it empty).
    const [, id = "", secret = ""] = /^salty_([0-9a-f]{12})_(.{43})$/.exec(t)!;
    expect(secret.length).toBe(43);
    expect((await get("/v1/releases/demo", t)).status).toBe(200);
    const list = await salty("token", "list");
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(id);
    expect(list.stdout).not.toContain(secret);
    const inspect = await salty("token", "inspect", t);
    expect(inspect.stdout).toContain("project: demo");
    expect(inspect.stdout).toContain("state: valid");
    expect(inspect.stdout).not.toContain(secret);
    const db = readFileSync(join(w.keyroot, "history.db"));
    expect(db.includes(Buffer.from(secret))).toBe(false);
    expect((await salty("token", "revoke", id)).code).toBe(0);
    const after = await get("/v1/releases/demo", t);
    expect(after.status).toBe(401);
    expect(await after.text()).toContain("revoked");
    expect((await salty("token", "inspect", t)).stdout).toContain("state: revoked");
  });

  test("an expired token is refused (401)", async () => {
    const t = await issue("demo", "--expires", "1s");
    let status = 0;
    for (let i = 0; i < 50 && status !== 401; i++) {
      status = (await get("/v1/releases/demo", t)).status;
      if (status !== 401) await Bun.sleep(100);
    }
    expect(status).toBe(401);
  });
});

describe("a deploy", () => {
  let first = "";
  test("salty deploy: bundled, live, applied to the two hosts top.ts selects with the inventory's vars; exit 0", async () => {
    const proj = join(w.dir, "proj");
    mkdirSync(join(proj, "_salty/roles"), { recursive: true });
    mkdirSync(join(proj, "_salty/files/app"), { recursive: true });
    mkdirSync(join(proj, "build"), { recursive: true });
    writeFileSync(join(proj, "_salty/top.ts"), TOP);
    writeFileSync(join(proj, "_salty/roles/app.ts"), APP("v1"));
    writeFileSync(join(proj, "_salty/files/app/app.conf"), "conf v1\n");
    writeFileSync(join(proj, "build/app.bin"), "binary v1\n");
    const p = Bun.spawn(
      [
        w.bin,
        "deploy",
        "demo",
        "prod",
        "--artifact",
        "build/app.bin",
        "--server",
        url,
        "--ca",
        join(w.dir, "ca.pem"),
      ],
      {
        cwd: proj,
        env: { ...process.env, SALTY_TOKEN: tokens.demo! },
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    const [out, err, code] = await Promise.all([
      new Response(p.stdout).text(),
      new Response(p.stderr).text(),
      p.exited,
    ]);
    expect(err).toContain("no .gitcommit");
    expect(out).toMatch(/^bundle received: \d+ bytes, release [0-9a-f]{12}$/m);
    expect(out).toMatch(/^release [0-9a-f]{12} live$/m);
    expect(out).toContain("apply: web1, web2");
    expect(out).toMatch(/^web1: ok \(3 changed, 0 errors\)$/m);
    expect(out).toMatch(/^web2: ok \(3 changed, 0 errors\)$/m);
    expect(out).toContain("apply done: 2 hosts, 0 failed");
    expect(code).toBe(0);
    for (const h of ["web1", "web2"]) {
      expect(readFileSync(join(w.sandbox(h), "etc/app/version"), "utf8")).toBe("v1 hello\n");
      expect(readFileSync(join(w.sandbox(h), "etc/app/app.conf"), "utf8")).toBe("conf v1\n");
      expect(readFileSync(join(w.sandbox(h), "opt/app/app.bin"), "utf8")).toBe("binary v1\n");
    }
    first = liveLink()!.split("/").pop()!;
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    // The history is written in the background: the deploy's job appears within a bounded wait.
    const tokenId = tokens.demo!.split("_")[1];
    let jobs: Array<{ who: string; kind: string; status: string }> = [];
    const ended = () => jobs.some((j) => j.who === `token:${tokenId}` && j.status !== "running");
    for (let i = 0; i < 50 && !ended(); i++) {
      jobs = JSON.parse((await salty("jobs", "--kind", "deploy", "--json")).stdout);
      if (!ended()) await Bun.sleep(100);
    }
    expect(jobs.filter((j) => j.who === `token:${tokenId}`).map((j) => [j.kind, j.status])).toEqual(
      [["deploy", "ok"]],
    );
  }, 60_000);

  test("the event stream resumes after Last-Event-ID, with the same ids and events", async () => {
    const res = await post("/v1/deploy/demo/prod?apply=0", tokens.demo, goodBundle("v1b"));
    const id = res.headers.get("x-deploy-id")!;
    const all = await sse(res);
    expect(all.map((e) => e.event)).toEqual(["bundle-received", "release-live"]);
    const resumed = await sse(
      await get(`/v1/deploys/${id}/events`, tokens.demo!, { "last-event-id": "1" }),
    );
    expect(resumed).toEqual(all.slice(1));
    expect((await get(`/v1/deploys/${id}/events`, tokens.other!)).status).toBe(403);
    // Back to v1 live for what follows (no apply: the hosts still hold v1).
    const back = await sse(
      await post(`/v1/deploy/demo/prod/rollback?to=${first}&apply=0`, tokens.demo),
    );
    expect(back.map((e) => e.event)).toEqual(["release-live"]);
    expect(liveLink()).toBe(`releases/${first}`);
  });

  const hostile: Array<[string, Uint8Array, RegExp]> = [
    [
      "an absolute path",
      rawTar([
        { name: "top.ts", data: TOP },
        { name: "/tmp/evil", data: "x" },
      ]),
      /absolute path/,
    ],
    [
      "a .. path",
      rawTar([
        { name: "top.ts", data: TOP },
        { name: "files/../../evil", data: "x" },
      ]),
      /path with \.\./,
    ],
    [
      "a symlink out of the bundle",
      rawTar([
        { name: "top.ts", data: TOP },
        { name: "files/leak", type: "2", link: "../../../../fileroot/files/base/secret.txt" },
      ]),
      /points outside the bundle/,
    ],
    [
      "a symlink chain out of the bundle",
      rawTar([
        { name: "top.ts", data: TOP },
        { name: "files/up", type: "2", link: ".." },
        { name: "files/leak", type: "2", link: "up/.." },
      ]),
      /points outside the bundle/,
    ],
    [
      "a hard link out of the bundle",
      rawTar([
        { name: "top.ts", data: TOP },
        { name: "files/hard", type: "1", link: "etc/passwd" },
      ]),
      /hard link/,
    ],
    [
      "a device file",
      rawTar([
        { name: "top.ts", data: TOP },
        { name: "files/dev", type: "3" },
      ]),
      /device, FIFO/,
    ],
    [
      "too many entries",
      rawTar([
        { name: "top.ts", data: TOP },
        ...Array.from({ length: 60 }, (_, i) => ({ name: `files/f${i}`, data: "x" })),
      ]),
      /more than 50 entries/,
    ],
    [
      "too many bytes",
      rawTar([
        { name: "top.ts", data: TOP },
        { name: "files/big", data: new Uint8Array(1_100_000) },
      ]),
      /more than 1048576 bytes|larger than/,
    ],
    ["not a tar", new TextEncoder().encode("hello ".repeat(200)), /checksum|truncated/],
    [
      "a top.ts that is code",
      rawTar([
        {
          name: "top.ts",
          data: `export default (() => { require("fs").rmSync("/"); return {}; })();\n`,
        },
      ]),
      /top\.ts: (must be|only strings, arrays and objects)/,
    ],
    [
      "a top.ts without the deployment",
      rawTar([{ name: "top.ts", data: `export default { dev: {} };\n` }]),
      /no section for deployment prod/,
    ],
    [
      "a role that is missing",
      rawTar([{ name: "top.ts", data: TOP }]),
      /no regular file roles\/app\.ts/,
    ],
    [
      "a role with a syntax error",
      rawTar([
        { name: "top.ts", data: TOP },
        { name: "roles/app.ts", data: "export default async ( => {};\n" },
      ]),
      /roles\/app\.ts:1.*syntax error/,
    ],
    [
      "a role importing a package",
      rawTar([
        { name: "top.ts", data: TOP },
        {
          name: "roles/app.ts",
          data: `import fs from "fs";\nexport default async () => { fs.readFileSync("/etc/passwd"); };\n`,
        },
      ]),
      /only node:\* built-ins/,
    ],
  ];
  for (const [name, tar, why] of hostile) {
    test(`refused: ${name}; the live release and every host untouched`, async () => {
      const before = { live: liveLink(), hosts: sandboxes() };
      const res = await post("/v1/deploy/demo/prod", tokens.demo, tar);
      expect(res.status).toBe(200);
      const events = await sse(res);
      expect(events.map((e) => e.event)).not.toContain("release-live");
      expect(events.at(-1)?.event).toBe("error");
      expect(String(events.at(-1)?.data.message)).toMatch(why);
      expect(liveLink()).toBe(before.live!);
      expect(sandboxes()).toEqual(before.hosts);
      expect(readdirSync(join(w.dir, "deploys/demo/prod/incoming"))).toEqual([]);
    });
  }

  test("a project's role cannot read the base fileroot, another project, or the keyroot: rc 1 and nothing written", async () => {
    const reader = (src: string) =>
      `export default async ({ copy }) => { await copy(${JSON.stringify(src)}, "/etc/stolen"); };\n`;
    for (const src of [
      "base/secret.txt",
      "../files/base/secret.txt",
      "../../../fileroot/files/base/secret.txt",
      "../../../../other/prod/live/files/x",
      "../../../../../keys/master.key",
    ]) {
      const tar = rawTar([
        { name: "top.ts", data: `export default { prod: { "web1": ["thief"] } };\n` },
        { name: "roles/thief.ts", data: reader(src) },
      ]);
      const events = await sse(await post("/v1/deploy/demo/prod", tokens.demo, tar));
      const result = events.find((e) => e.event === "host-result");
      expect(result?.data).toMatchObject({ host: "web1", errors: 1 });
      expect(existsSync(join(w.sandbox("web1"), "etc/stolen"))).toBe(false);
    }
  }, 60_000);

  test("a failing host: exit 1, the others applied", async () => {
    const tar = rawTar([
      { name: "top.ts", data: `export default { prod: { "role:web": ["app"] } };\n` },
      {
        name: "roles/app.ts",
        data: `export default async ({ id, shell }) => { if (id === "web2") await shell("exit 4"); };\n`,
      },
    ]);
    writeFileSync(join(w.dir, "bad.tar"), tar);
    const events = await sse(await post("/v1/deploy/demo/prod", tokens.demo, tar));
    const results = Object.fromEntries(
      events.filter((e) => e.event === "host-result").map((e) => [e.data.host, e.data.errors]),
    );
    expect(results).toEqual({ web1: 0, web2: 1 });
    expect(events.at(-1)).toMatchObject({ event: "apply-end", data: { rc: 1, failed: 1 } });
  }, 60_000);

  test("rollback: the release before goes live in one switch and is applied again", async () => {
    const r1 = (await sse(await post("/v1/deploy/demo/prod", tokens.demo, goodBundle("r1")))).find(
      (e) => e.event === "release-live",
    )!.data.release as string;
    const r2 = await sse(await post("/v1/deploy/demo/prod", tokens.demo, goodBundle("r2")));
    expect(r2.at(-1)).toMatchObject({ event: "apply-end", data: { rc: 0 } });
    expect(readFileSync(join(w.sandbox("web1"), "etc/app/version"), "utf8")).toBe("r2 hello\n");
    const r = await w.salty([
      "deploy",
      "rollback",
      "demo",
      "prod",
      "--server",
      url,
      "--ca",
      join(w.dir, "ca.pem"),
      "--token",
      tokens.demo!,
    ]);
    expect(r.stdout).toContain(`release ${r1.slice(0, 12)} live`);
    expect(r.code).toBe(0);
    expect(liveLink()).toBe(`releases/${r1}`);
    for (const h of ["web1", "web2"])
      expect(readFileSync(join(w.sandbox(h), "etc/app/version"), "utf8")).toBe("r1 hello\n");
    const list = await w.salty([
      "deploy",
      "list",
      "demo",
      "prod",
      "--server",
      url,
      "--ca",
      join(w.dir, "ca.pem"),
      "--token",
      tokens.demo!,
    ]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`prod\\s+${r1.slice(0, 12)}.*live`));
    // --deploy-keep 3: the oldest releases are gone (the first one among them), the live one kept.
    expect(
      readdirSync(join(w.dir, "deploys/demo/prod/releases")).filter((n) => !n.endsWith(".json"))
        .length,
    ).toBe(3);
    const gone = await w.salty([
      "deploy",
      "rollback",
      "demo",
      "prod",
      "--to",
      first,
      "--server",
      url,
      "--ca",
      join(w.dir, "ca.pem"),
      "--token",
      tokens.demo!,
    ]);
    expect(gone.stdout).toContain(`error: no release ${first} of demo/prod`);
    expect(gone.code).toBe(1);
    expect(liveLink()).toBe(`releases/${r1}`);
  }, 60_000);

  test("plain curl deploys (the README's one-liner)", async () => {
    // The bundle made by the system's tar, as the README says.
    const dir = join(w.dir, "curl-proj/_salty");
    mkdirSync(join(dir, "roles"), { recursive: true });
    mkdirSync(join(dir, "files/app"), { recursive: true });
    mkdirSync(join(dir, "_artifacts/build"), { recursive: true });
    writeFileSync(join(dir, "top.ts"), TOP);
    writeFileSync(join(dir, "roles/app.ts"), APP("curl"));
    writeFileSync(join(dir, "files/app/app.conf"), "conf curl\n");
    writeFileSync(join(dir, "_artifacts/build/app.bin"), "binary curl\n");
    expect(Bun.spawnSync(["tar", "-C", dir, "-cf", join(w.dir, "bundle.tar"), "."]).exitCode).toBe(
      0,
    );
    const p = Bun.spawn(
      [
        "curl",
        "-sSN",
        "--fail-with-body",
        "--cacert",
        join(w.dir, "ca.pem"),
        "-H",
        `Authorization: Bearer ${tokens.demo}`,
        "--data-binary",
        "@bundle.tar",
        `${url}/v1/deploy/demo/prod`,
      ],
      { cwd: w.dir, stdout: "pipe", stderr: "pipe" },
    );
    const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
    expect(code).toBe(0);
    expect(out).toContain("event: release-live");
    expect(out).toMatch(/event: apply-end\ndata: \{"rc":0/);
    expect(readFileSync(join(w.sandbox("web2"), "etc/app/version"), "utf8")).toBe("curl hello\n");
  }, 60_000);

  test("a rollout: --batch 1 --max-fail 1 and a failing first host: the second is never attempted, exit 1", async () => {
    const proj = join(w.dir, "proj-rollout");
    mkdirSync(join(proj, "_salty/roles"), { recursive: true });
    writeFileSync(
      join(proj, "_salty/top.ts"),
      `export default { prod: { "role:web": ["app"] } };\n`,
    );
    writeFileSync(
      join(proj, "_salty/roles/app.ts"),
      `export default async ({ id, shell, file }) => { await file("/etc/rollout", { content: "rolled\\n" }); if (id === "web1") await shell("exit 5"); };\n`,
    );
    const p = Bun.spawn(
      [
        w.bin,
        "deploy",
        "demo",
        "prod",
        "--batch",
        "1",
        "--max-fail",
        "1",
        "--server",
        url,
        "--ca",
        join(w.dir, "ca.pem"),
        "--token",
        tokens.demo!,
      ],
      { cwd: proj, stdout: "pipe", stderr: "pipe" },
    );
    const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
    expect(out).toContain("batch 1/2: web1");
    expect(out).toMatch(/^web1: FAILED/m);
    expect(out).toContain("apply done: 1 hosts, 1 failed, never attempted: web2");
    expect(out).not.toContain("batch 2/2");
    expect(code).toBe(1);
    expect(existsSync(join(w.sandbox("web2"), "etc/rollout"))).toBe(false);
  }, 60_000);

  test("--fingerprint trusts the self-signed master by its SHA-256; another fingerprint is refused", async () => {
    const fp = new X509Certificate(cert).fingerprint256;
    const ok = await w.salty([
      "deploy",
      "list",
      "demo",
      "--server",
      url,
      "--fingerprint",
      fp,
      "--token",
      tokens.demo!,
    ]);
    expect(ok.stdout).toContain("prod");
    expect(ok.code).toBe(0);
    const bad = await w.salty([
      "deploy",
      "list",
      "demo",
      "--server",
      url,
      "--fingerprint",
      fp.replace(/^../, "00"),
      "--token",
      tokens.demo!,
    ]);
    expect(bad.stderr).toMatch(
      /^salty: the master's certificate has the fingerprint [0-9a-f]{64}, not 00[0-9a-f]{62}: refused\n$/,
    );
    expect(bad.code).toBe(1);
  });

  test("the same bundle again: roles whose inputs did not change are not run; a changed file runs them; so does --force", async () => {
    const tar = goodBundle("same");
    const byHost = (events: Awaited<ReturnType<typeof sse>>) =>
      Object.fromEntries(
        events
          .filter((e) => e.event === "host-result")
          .map((e) => [e.data.host, [e.data.unchanged ?? 0, e.data.changed]]),
      );
    // The inputs include the hashes of the files the role fetched the time before (lib/history/inputs.ts):
    // they settle after one run of this bundle on this connection.
    await sse(await post("/v1/deploy/demo/prod", tokens.demo, tar));
    await sse(await post("/v1/deploy/demo/prod", tokens.demo, tar));
    const version = join(w.sandbox("web1"), "etc/app/version");
    const mtime = statSync(version).mtimeMs;
    const again = await sse(await post("/v1/deploy/demo/prod", tokens.demo, tar));
    expect(byHost(again)).toEqual({ web1: [1, 0], web2: [1, 0] });
    expect(again.at(-1)).toMatchObject({ event: "apply-end", data: { rc: 0 } });
    expect(statSync(version).mtimeMs).toBe(mtime);
    // Only app.conf differs: the role runs again and writes it.
    const conf = rawTar([
      { name: "top.ts", data: TOP },
      { name: "roles/app.ts", data: APP("same") },
      { name: "files/app/app.conf", data: "conf changed\n" },
      { name: "_artifacts/build/app.bin", data: "binary same\n" },
    ]);
    expect(byHost(await sse(await post("/v1/deploy/demo/prod", tokens.demo, conf)))).toEqual({
      web1: [0, 1],
      web2: [0, 1],
    });
    expect(readFileSync(join(w.sandbox("web2"), "etc/app/app.conf"), "utf8")).toBe(
      "conf changed\n",
    );
    // Drift on the host is not an input: --force (?force=1) runs every role and corrects it.
    await sse(await post("/v1/deploy/demo/prod", tokens.demo, conf));
    writeFileSync(version, "edited by hand\n");
    expect(byHost(await sse(await post("/v1/deploy/demo/prod", tokens.demo, conf)))).toEqual({
      web1: [1, 0],
      web2: [1, 0],
    });
    expect(readFileSync(version, "utf8")).toBe("edited by hand\n");
    expect(
      byHost(await sse(await post("/v1/deploy/demo/prod?force=1", tokens.demo, conf))),
    ).toEqual({ web1: [0, 1], web2: [0, 0] });
    expect(readFileSync(version, "utf8")).toBe("same hello\n");
  }, 60_000);

  test("--include-source git and --no-apply: _source/ from git archive and .gitcommit in the release, the commit in deploy list; nothing applied", async () => {
    const proj = join(w.dir, "proj-git");
    mkdirSync(join(proj, "_salty/roles"), { recursive: true });
    writeFileSync(
      join(proj, "_salty/top.ts"),
      `export default { prod: { "role:web": ["noop"] } };\n`,
    );
    writeFileSync(join(proj, "_salty/roles/noop.ts"), `export default async () => {};\n`);
    writeFileSync(join(proj, "main.c"), "int main(void) { return 0; }\n");
    writeFileSync(join(proj, "untracked.txt"), "not in git\n");
    const git = (...args: string[]) =>
      expect(
        Bun.spawnSync(["git", "-c", "user.name=t", "-c", "user.email=t@t", ...args], { cwd: proj })
          .exitCode,
      ).toBe(0);
    git("init", "-q");
    git("add", "main.c", "_salty");
    git("commit", "-qm", "first");
    const head = Bun.spawnSync(["git", "rev-parse", "HEAD"], { cwd: proj })
      .stdout.toString()
      .trim();
    const p = Bun.spawn(
      [
        w.bin,
        "deploy",
        "demo",
        "prod",
        "--include-source",
        "git",
        "--no-apply",
        "--server",
        url,
        "--ca",
        join(w.dir, "ca.pem"),
        "--token",
        tokens.demo!,
      ],
      { cwd: proj, stdout: "pipe", stderr: "pipe" },
    );
    const [out, err, code] = await Promise.all([
      new Response(p.stdout).text(),
      new Response(p.stderr).text(),
      p.exited,
    ]);
    expect(err).toBe("");
    expect(out).toMatch(/^release [0-9a-f]{12} live/m);
    expect(out).not.toContain("apply");
    expect(code).toBe(0);
    const live = join(w.dir, "deploys/demo/prod/live");
    expect(readFileSync(join(live, "_source/main.c"), "utf8")).toContain("int main");
    expect(existsSync(join(live, "_source/untracked.txt"))).toBe(false);
    expect(readFileSync(join(live, ".gitcommit"), "utf8").split("\n")[0]).toBe(head);
    const list = await w.salty([
      "deploy",
      "list",
      "demo",
      "prod",
      "--json",
      "--server",
      url,
      "--ca",
      join(w.dir, "ca.pem"),
      "--token",
      tokens.demo!,
    ]);
    expect(JSON.parse(list.stdout).prod[0]).toMatchObject({
      live: true,
      gitcommit: expect.stringContaining(head),
    });
  }, 60_000);

  test("salty deploy resumes a cut event stream from its last event: every event printed once, exit 0", async () => {
    // A plain TCP relay (TLS passes through it) whose connections the test cuts.
    const conns = new Set<Socket>();
    const relay = createServer((c) => {
      const up = connect(Number(new URL(url).port), "127.0.0.1");
      for (const s of [c, up]) {
        conns.add(s);
        s.on("error", () => {});
        s.on("close", () => conns.delete(s));
      }
      c.pipe(up);
      up.pipe(c);
    });
    await new Promise<void>((r) => relay.listen(0, "127.0.0.1", r));
    const flag = join(w.dir, "go-on");
    try {
      const before = liveLink();
      const proj = join(w.dir, "proj-resume");
      mkdirSync(join(proj, "_salty/roles"), { recursive: true });
      writeFileSync(
        join(proj, "_salty/top.ts"),
        `export default { prod: { "role:web": ["wait"] } };\n`,
      );
      writeFileSync(
        join(proj, "_salty/roles/wait.ts"),
        `export default async ({ shell }) => { await shell("i=0; while [ ! -e ${flag} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; test -e ${flag}"); };\n`,
      );
      const server = `https://127.0.0.1:${(relay.address() as { port: number }).port}`;
      const p = Bun.spawn(
        [
          w.bin,
          "deploy",
          "demo",
          "prod",
          "--server",
          server,
          "--ca",
          join(w.dir, "ca.pem"),
          "--token",
          tokens.demo!,
        ],
        { cwd: proj, stdout: "pipe", stderr: "pipe" },
      );
      for (let i = 0; i < 300 && liveLink() === before; i++) await Bun.sleep(50);
      expect(liveLink()).not.toBe(before);
      for (const s of conns) s.destroy();
      writeFileSync(flag, "");
      const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
      expect(out.match(/^release [0-9a-f]{12} live/gm)?.length).toBe(1);
      expect(out.match(/^web1: ok/gm)?.length).toBe(1);
      expect(out.match(/^web2: ok/gm)?.length).toBe(1);
      expect(out).toContain("apply done: 2 hosts, 0 failed");
      expect(code).toBe(0);
    } finally {
      for (const s of conns) s.destroy();
      relay.close();
    }
  }, 90_000);
});
