// git(), download(), unarchive() and release() end to end: the compiled binary
// as master and agent (--path sandbox), a real git repository made here (a
// bare repository on disk, reached by file:// URL), a real HTTP server on
// loopback (Bun.serve, port 0) that also sends wrong bytes and 404s, and a raw
// TCP server that cuts the connection mid-body. Each deployment is applied
// with --dry-run first (nothing touched, exact), then for real, then again
// (changed:0); a full commit hash equal to HEAD asks the network nothing (the
// repository is moved away before that apply).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  writeFileSync,
  chmodSync,
  readdirSync,
} from "node:fs";
import { join } from "node:path";
import type { Result } from "salty";
import { world, type World } from "./_harness.ts";
import { tempDir } from "../_temp.ts";

const tmpDir = tempDir("salty-artifacts-");
const tmp = tmpDir.path;

function sh(argv: string[], cwd = tmp): string {
  const p = Bun.spawnSync(argv, {
    cwd,
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@t",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@t",
    },
  });
  if (p.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${p.stderr.toString()}`);
  return p.stdout.toString().trim();
}

/** A bare repository with two commits on main and a tag v1 on the first. */
function makeRepo(): { url: string; bare: string; first: string; second: string } {
  const bare = join(tmp, "app.git");
  const work = join(tmp, "work");
  sh(["git", "init", "-q", "--bare", "-b", "main", bare]);
  sh(["git", "init", "-q", "-b", "main", work]);
  writeFileSync(join(work, "VERSION"), "1\n");
  sh(["git", "add", "VERSION"], work);
  sh(["git", "commit", "-q", "-m", "one"], work);
  sh(["git", "tag", "-a", "v1", "-m", "v1"], work);
  const first = sh(["git", "rev-parse", "HEAD"], work);
  writeFileSync(join(work, "VERSION"), "2\n");
  sh(["git", "commit", "-q", "-am", "two"], work);
  const second = sh(["git", "rev-parse", "HEAD"], work);
  sh(["git", "push", "-q", bare, "main", "v1"], work);
  return { url: `file://${bare}`, bare, first, second };
}

/** A .tar.gz of `files` made with the system's tar. */
function makeTgz(name: string, files: Record<string, string>): Uint8Array {
  const dir = join(tmp, `src-${name}`);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(dir, rel, ".."), { recursive: true });
    writeFileSync(join(dir, rel), text);
    if (rel.startsWith("bin/")) chmodSync(join(dir, rel), 0o755);
  }
  sh(["tar", "-czf", join(tmp, name), "-C", dir, "."]);
  return readFileSync(join(tmp, name));
}

/** One ustar header block (what GNU tar refuses to write: names with "..", links out). */
function tarEntry(name: string, type: "0" | "2", body = "", link = ""): Uint8Array {
  const h = new Uint8Array(512);
  const put = (s: string, at: number) => h.set(new TextEncoder().encode(s), at);
  put(name, 0);
  put("0000644\0", 100);
  put("0000000\0", 108);
  put("0000000\0", 116);
  put(`${body.length.toString(8).padStart(11, "0")}\0`, 124);
  put("00000000000\0", 136);
  put("        ", 148);
  put(type, 156);
  put(link, 157);
  put("ustar\u000000", 257);
  const sum = h.reduce((a, b) => a + b, 0);
  put(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  const data = new Uint8Array(Math.ceil(body.length / 512) * 512);
  data.set(new TextEncoder().encode(body));
  return new Uint8Array([...h, ...data]);
}
const evilTgz = (...entries: Uint8Array[]) =>
  Bun.gzipSync(new Uint8Array([...entries.flatMap((e) => [...e]), ...new Uint8Array(1024)]));

const sha = (b: Uint8Array) => new Bun.CryptoHasher("sha256").update(b).digest("hex");
const repo = makeRepo();
const app1 = makeTgz("app-1.tar.gz", { "bin/run": "#!/bin/sh\necho 1\n", README: "one\n" });
const app2 = makeTgz("app-2.tar.gz", { "bin/run": "#!/bin/sh\necho 2\n", README: "two\n" });
const evilDotDot = evilTgz(
  tarEntry("ok.txt", "0", "ok\n"),
  tarEntry("../escaped.txt", "0", "out\n"),
);
const evilLink = evilTgz(
  tarEntry("etc", "2", "", "../../../../../../etc"),
  tarEntry("ok.txt", "0", "ok\n"),
);

let requests: string[] = [];
const http = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch(req) {
    const path = new URL(req.url).pathname;
    requests.push(path);
    const bodies: Record<string, Uint8Array> = {
      "/app-1.tar.gz": app1,
      "/app-2.tar.gz": app2,
      "/wrong.tar.gz": app2,
      "/evil-dotdot.tar.gz": evilDotDot,
      "/evil-link.tar.gz": evilLink,
    };
    const body = bodies[path];
    return body ? new Response(body) : new Response("not found\n", { status: 404 });
  },
});
// Promises 1000 bytes, sends 100, then closes the connection.
const cut = await Bun.listen({
  hostname: "127.0.0.1",
  port: 0,
  socket: {
    data(s) {
      s.write(
        "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: application/octet-stream\r\n\r\n",
      );
      s.write("x".repeat(100));
      s.end();
    },
  },
});
const base = `http://127.0.0.1:${http.port}`;

const files: Record<string, string> = {
  "hosts/index.ts": `export default { hosts: { lab: { web1: { env: "dev", roles: ["src", "app", "fromroot"] } } } };\n`,
  "roles/src.ts": `import type { Role } from "salty";
export default (async ({ git, args: { repo, rev, depth } }) => {
  if (!repo) return;
  await git(String(repo), "/srv/src", { rev: String(rev), ...(depth ? { depth: Number(depth) } : {}) });
}) satisfies Role;
`,
  "roles/app.ts": `import type { Role } from "salty";
export default (async ({ download, unarchive, release, args: { url, sha, version, keep } }) => {
  if (!url) return;
  const tgz = "/var/cache/app/app-" + String(version) + ".tar.gz";
  const got = await download(String(url), tgz, { sha256: String(sha) });
  if (got.rc !== 0) return;
  await unarchive(tgz, "/srv/app/releases/" + String(version), { sha256: String(sha) });
  await release("/srv/app", String(version), { keep: Number(keep ?? 2) });
}) satisfies Role;
`,
  "roles/fromroot.ts": `import type { Role } from "salty";
export default (async ({ unarchive, args: { archive } }) => {
  if (!archive) return;
  await unarchive(String(archive), "/srv/unpacked");
}) satisfies Role;
`,
};

let w: World;
const apply = (...args: string[]) => w.salty(["apply", "-vv", "--keyroot", w.keyroot, ...args]);
const sandbox = () => w.sandbox("web1");

/** The results a -vv apply printed (one JSON object per line, `web1| role:NAME {...}` as each ends). */
function results(out: string): Result[] {
  return out
    .split("\n")
    .filter((l) => /^web1\| role:\S+ \{"cmd"/.test(l))
    .map((l) => JSON.parse(l.slice(l.indexOf("{")).trim()) as Result);
}
const one = (out: string, prefix: string) => results(out).find((r) => r.cmd.startsWith(prefix));

/** Every file below the sandbox with its content or link target. */
function tree(dir = sandbox()): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const p = join(e.parentPath, e.name);
    out[p.slice(dir.length)] = e.isSymbolicLink()
      ? `-> ${readlinkSync(p)}`
      : e.isFile()
        ? readFileSync(p, "utf8")
        : "dir";
  }
  return out;
}

beforeAll(async () => {
  writeFileSync(join(tmp, "placeholder"), "");
  w = await world({ files: { ...files, "files/pkg/app-1.tar.gz": "" } });
  writeFileSync(join(w.fileroot, "files/pkg/app-1.tar.gz"), app1);
  writeFileSync(join(w.fileroot, "files/pkg/evil.tar.gz"), evilLink);
  sh([
    "tar",
    "-cJf",
    join(w.fileroot, "files/pkg/app.tar.xz"),
    "-C",
    join(tmp, "src-app-2.tar.gz"),
    ".",
  ]);
  sh(["zip", "-qr", join(w.fileroot, "files/pkg/app.zip"), "."], join(tmp, "src-app-1.tar.gz"));
  // A zip entry named "../f" (zip keeps it) and a zip holding a symlink out (-y stores the link itself).
  mkdirSync(join(tmp, "zip-up/a/b"), { recursive: true });
  writeFileSync(join(tmp, "zip-up/a/f"), "up\n");
  sh(["zip", "-q", join(w.fileroot, "files/pkg/up.zip"), "../f"], join(tmp, "zip-up/a/b"));
  mkdirSync(join(tmp, "zip-link"));
  sh(["ln", "-s", "../../../../etc", join(tmp, "zip-link/etc")]);
  sh(["zip", "-qry", join(w.fileroot, "files/pkg/link.zip"), "."], join(tmp, "zip-link"));
  await w.startMaster(["--auto-accept"]);
  await w.startAgent("web1");
  await w.waitHosts(["web1"]);
});

afterAll(async () => {
  await w?.[Symbol.asyncDispose]();
  http.stop(true);
  cut.stop(true);
  tmpDir[Symbol.dispose]();
});

describe("git", () => {
  test("a branch: dry run exact and untouched, then clone (old -> new commit), then changed:0", async () => {
    const dry = await apply("--dry-run", "roles=src", `repo=${repo.url}`, "rev=main");
    expect(dry.code, dry.stdout + dry.stderr).toBe(0);
    const d = one(dry.stdout, "git(")!;
    expect(d.changed).toBe(true);
    expect(d.output).toContain(`would check out (none) -> ${repo.second.slice(0, 12)} (main)`);
    expect(existsSync(join(sandbox(), "srv/src"))).toBe(false);

    const r = await apply("roles=src", `repo=${repo.url}`, "rev=main");
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(one(r.stdout, "git(")).toMatchObject({
      rc: 0,
      changed: true,
      created: true,
      output: `(none) -> ${repo.second}`,
    });
    expect(readFileSync(join(sandbox(), "srv/src/VERSION"), "utf8")).toBe("2\n");

    const again = await apply("roles=src", `repo=${repo.url}`, "rev=main");
    expect(again.stdout).toMatch(/^host:web1 elapsed:\S+ errors:0 changed:0$/m);
  });

  test("a tag, then a full commit hash: old and new commit reported; a hash equal to HEAD makes no network call", async () => {
    const tag = await apply("roles=src", `repo=${repo.url}`, "rev=v1");
    expect(tag.code, tag.stdout + tag.stderr).toBe(0);
    expect(one(tag.stdout, "git(")).toMatchObject({
      rc: 0,
      changed: true,
      output: `${repo.second} -> ${repo.first}`,
    });
    expect(readFileSync(join(sandbox(), "srv/src/VERSION"), "utf8")).toBe("1\n");

    const back = await apply("roles=src", `repo=${repo.url}`, `rev=${repo.second}`);
    expect(one(back.stdout, "git(")).toMatchObject({
      rc: 0,
      changed: true,
      output: `${repo.first} -> ${repo.second}`,
    });

    // The repository is gone: any fetch or ls-remote would fail.
    renameSync(repo.bare, `${repo.bare}.away`);
    try {
      const dry = await apply("--dry-run", "roles=src", `repo=${repo.url}`, `rev=${repo.second}`);
      expect(one(dry.stdout, "git(")).toMatchObject({ rc: 0, changed: false });
      const same = await apply("roles=src", `repo=${repo.url}`, `rev=${repo.second}`);
      expect(one(same.stdout, "git(")).toMatchObject({ rc: 0, changed: false });
      expect(same.stdout).toMatch(/^host:web1 elapsed:\S+ errors:0 changed:0$/m);
      // A branch name must be asked for: rc 1 with git's reason, the checkout left as it was.
      const named = await apply("roles=src", `repo=${repo.url}`, "rev=main");
      expect(named.code).not.toBe(0);
      expect(one(named.stdout + named.stderr, "git(")?.error).toContain(`cannot read ${repo.url}`);
      expect(readFileSync(join(sandbox(), "srv/src/VERSION"), "utf8")).toBe("2\n");
    } finally {
      renameSync(`${repo.bare}.away`, repo.bare);
    }
  });

  test("a shallow clone of a commit, and a rev the remote does not have", async () => {
    rmSync(join(sandbox(), "srv/src"), { recursive: true, force: true });
    const r = await apply("roles=src", `repo=${repo.url}`, `rev=${repo.first}`, "depth=1");
    expect(one(r.stdout, "git(")).toMatchObject({
      rc: 0,
      changed: true,
      output: `(none) -> ${repo.first}`,
    });
    expect(sh(["git", "-C", join(sandbox(), "srv/src"), "rev-list", "--count", "HEAD"])).toBe("1");
    const bad = await apply("roles=src", `repo=${repo.url}`, "rev=nope");
    expect(one(bad.stdout + bad.stderr, "git(")?.error).toContain(
      `nope is neither a branch nor a tag of ${repo.url}`,
    );
  });

  test("local changes a checkout would overwrite are never discarded: rc 1 with git's message, the file kept", async () => {
    const src = join(sandbox(), "srv/src");
    const at = sh(["git", "-C", src, "rev-parse", "HEAD"]);
    writeFileSync(join(src, "VERSION"), "edited by hand\n");
    const r = await apply(
      "roles=src",
      `repo=${repo.url}`,
      `rev=${at === repo.first ? repo.second : repo.first}`,
    );
    const g = one(r.stdout + r.stderr, "git(")!;
    expect(g.rc).toBe(1);
    expect(g.error).toContain("would be overwritten by checkout");
    expect(readFileSync(join(src, "VERSION"), "utf8")).toBe("edited by hand\n");
    sh(["git", "-C", src, "checkout", "--", "VERSION"]);
  });
});

describe("download, unarchive, release", () => {
  test("build once, promote: dry run exact, first apply, second changed:0 with no request", async () => {
    const args = ["roles=app", `url=${base}/app-1.tar.gz`, `sha=${sha(app1)}`, "version=1"];
    requests = [];
    const dry = await apply("--dry-run", "--diff", ...args);
    expect(dry.code, dry.stdout + dry.stderr).toBe(0);
    expect(tree()).not.toHaveProperty("/srv/app");
    expect(tree()).not.toHaveProperty("/var/cache/app");
    expect(requests).toEqual([]);
    expect(one(dry.stdout, "download(")?.output).toContain(
      `would download ${base}/app-1.tar.gz to /var/cache/app/app-1.tar.gz`,
    );
    expect(one(dry.stdout, "release(")?.output).toContain(
      "would symlink /srv/app/current -> releases/1",
    );

    const r = await apply(...args);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(requests).toEqual(["/app-1.tar.gz"]);
    const t = tree();
    expect(t["/srv/app/current"]).toBe("-> releases/1");
    expect(t["/srv/app/releases/1/bin/run"]).toBe("#!/bin/sh\necho 1\n");
    expect(t["/srv/app/releases/1/.salty-unarchive"]).toBe(`${sha(app1)}\n`);
    expect(Bun.spawnSync([join(sandbox(), "srv/app/current/bin/run")]).stdout.toString()).toBe(
      "1\n",
    );
    expect(
      Object.keys(t).filter((p) => p.includes("salty-tmp") || p.includes("salty-unpack")),
    ).toEqual([]);

    const again = await apply(...args);
    expect(again.stdout).toMatch(/^host:web1 elapsed:\S+ errors:0 changed:0$/m);
    expect(requests).toEqual(["/app-1.tar.gz"]);
  });

  test("a second version, then a third with keep 2: the oldest release goes, current switched", async () => {
    const r2 = await apply(
      "roles=app",
      `url=${base}/app-2.tar.gz`,
      `sha=${sha(app2)}`,
      "version=2",
    );
    expect(r2.code, r2.stdout + r2.stderr).toBe(0);
    expect(one(r2.stdout, "release(")).toMatchObject({ rc: 0, changed: true });
    expect(readlinkSync(join(sandbox(), "srv/app/current"))).toBe("releases/2");
    await Bun.sleep(20); // distinct mtimes for the third release
    const r3 = await apply(
      "roles=app",
      `url=${base}/app-1.tar.gz`,
      `sha=${sha(app1)}`,
      "version=3",
    );
    expect(r3.code, r3.stdout + r3.stderr).toBe(0);
    expect(readdirSync(join(sandbox(), "srv/app/releases")).sort()).toEqual(["2", "3"]);
    expect(readlinkSync(join(sandbox(), "srv/app/current"))).toBe("releases/3");
  });

  test("wrong bytes, a 404 and a cut connection: rc 1, the destination untouched, no temporary file", async () => {
    const dest = join(sandbox(), "var/cache/app/app-9.tar.gz");
    writeFileSync(dest, "old\n");
    for (const [url, error] of [
      [`${base}/wrong.tar.gz`, `sha256 is ${sha(app2)}, expected ${sha(app1)}`],
      [`${base}/missing.tar.gz`, "HTTP 404"],
      [`http://127.0.0.1:${cut.port}/app.tar.gz`, "/var/cache/app/app-9.tar.gz left as it was"],
    ] as const) {
      const r = await apply("roles=app", `url=${url}`, `sha=${sha(app1)}`, "version=9");
      expect(r.code).not.toBe(0);
      const d = one(r.stdout + r.stderr, "download(")!;
      expect(d.rc).toBe(1);
      expect(d.error).toContain(error);
      expect(readFileSync(dest, "utf8")).toBe("old\n");
      expect(
        readdirSync(join(sandbox(), "var/cache/app")).filter((n) => n.startsWith(".")),
      ).toEqual([]);
    }
    expect(existsSync(join(sandbox(), "srv/app/releases/9"))).toBe(false);
  });

  test('archives whose entries escape ("..", a link out) are refused before anything is extracted', async () => {
    for (const name of ["evil-dotdot", "evil-link"]) {
      const body = name === "evil-dotdot" ? evilDotDot : evilLink;
      const r = await apply(
        "roles=app",
        `url=${base}/${name}.tar.gz`,
        `sha=${sha(body)}`,
        `version=${name}`,
      );
      const u = one(r.stdout + r.stderr, "unarchive(")!;
      expect(u.rc).toBe(1);
      expect(u.error).toContain("refused: entry");
      expect(readdirSync(join(sandbox(), "srv/app/releases", name))).toEqual([]);
      expect(existsSync(join(sandbox(), "srv/app/escaped.txt"))).toBe(false);
      expect(existsSync(join(sandbox(), "srv/app/releases/escaped.txt"))).toBe(false);
    }
  });

  test("from the fileroot: fetched beside the destination, extracted, the temporary archive removed; then changed:0", async () => {
    const r = await apply("roles=fromroot", "archive=pkg/app-1.tar.gz");
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(one(r.stdout, "unarchive("), r.stdout).toMatchObject({
      rc: 0,
      changed: true,
      created: true,
    });
    expect(readFileSync(join(sandbox(), "srv/unpacked/README"), "utf8")).toBe("one\n");
    expect(readdirSync(join(sandbox(), "srv")).sort()).toEqual(["app", "src", "unpacked"]);
    const again = await apply("roles=fromroot", "archive=pkg/app-1.tar.gz");
    expect(again.stdout).toMatch(/^host:web1 elapsed:\S+ errors:0 changed:0$/m);
  });

  test(".tar.xz and .zip from the fileroot; a new archive into the same directory replaces its entries", async () => {
    for (const [archive, readme] of [
      ["pkg/app.tar.xz", "two\n"],
      ["pkg/app.zip", "one\n"],
    ] as const) {
      const r = await apply("roles=fromroot", `archive=${archive}`);
      expect(one(r.stdout, "unarchive("), r.stdout + r.stderr).toMatchObject({
        rc: 0,
        changed: true,
      });
      expect(readFileSync(join(sandbox(), "srv/unpacked/README"), "utf8")).toBe(readme);
      const again = await apply("roles=fromroot", `archive=${archive}`);
      expect(one(again.stdout, "unarchive(")).toMatchObject({ rc: 0, changed: false });
    }
    expect(Bun.spawnSync([join(sandbox(), "srv/unpacked/bin/run")]).stdout.toString()).toBe("1\n");
  });

  test('zips whose entries escape: a ".." name refused from the listing, a symlink out refused after extraction into the staging directory', async () => {
    for (const [archive, error] of [
      ["pkg/up.zip", 'refused: entry "../f" goes up with ".."'],
      ["pkg/link.zip", "refused: etc is a link out of the destination (-> ../../../../etc)"],
    ] as const) {
      const r = await apply("roles=fromroot", `archive=${archive}`);
      const u = one(r.stdout + r.stderr, "unarchive(")!;
      expect(u.rc).toBe(1);
      expect(u.error).toContain(error);
      expect(existsSync(join(sandbox(), "srv/unpacked/etc"))).toBe(false);
      expect(existsSync(join(sandbox(), "srv/f"))).toBe(false);
      expect(readdirSync(join(sandbox(), "srv")).filter((n) => n.startsWith("."))).toEqual([]);
    }
  });
});
