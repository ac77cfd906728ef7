// Faults, with real processes on 127.0.0.1: an agent killed in the middle of
// a big copy and of a syncdir, the master killed and restarted during an
// apply, a frozen agent, and a fileroot file deleted or changed while an
// apply reads it. The transfer is caught in the middle by freezing the master
// (SIGSTOP) once the agent's temporary file holds some bytes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  closeSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { world, type World } from "../e2e/_harness.ts";
import { sha256, snapshot, tempFiles, until } from "./_tools.ts";

const BIG = 64 * 1024 * 1024;

const files: Record<string, string> = {
  "hosts/index.ts": `export default {
  clusters: { lab: {} },
  envs: { lab: {} },
  hosts: { lab: { a1: { env: "lab", roles: ["quick"] }, a2: { env: "lab", roles: ["quick"] }, a3: { env: "lab", roles: ["quick"] } } },
};
`,
  "roles/quick.ts": `export default async ({ copy, shell, syncdir, slow, big, tree, source }) => {
  if (slow) await shell("sleep " + slow);
  if (big) await copy(source ?? "big/blob", "/data/blob");
  if (tree) await syncdir("files/tree", "/data/tree");
  await copy("small/motd", "/data/motd");
};
`,
  "files/small/motd": "hello\n",
};

let w: World;

/** A sparse file of `size` bytes whose first and last MiB are random: cheap to make, each one different to the end. */
function bigFile(path: string, size: number): string {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, "w");
  writeSync(fd, randomBytes(1024 * 1024));
  ftruncateSync(fd, size);
  writeSync(fd, randomBytes(1024 * 1024), 0, 1024 * 1024, size - 1024 * 1024);
  closeSync(fd);
  return sha256(readFileSync(path));
}

const apply = (...args: string[]) => w.salty(["apply", "--keyroot", w.keyroot, ...args]);
const master = () => w.master!.proc;

/** Freeze the master once a temporary file under `dir` holds `bytes`; returns its path. */
async function freezeMasterMidTransfer(dir: string, bytes: number): Promise<string> {
  let found = "";
  await until(
    () => {
      for (const t of tempFiles(dir)) {
        try {
          if (statSync(join(dir, t)).size >= bytes) return Boolean((found = join(dir, t)));
        } catch {
          /* renamed away meanwhile */
        }
      }
      return false;
    },
    30_000,
    `a temporary file of ${bytes} bytes under ${dir}`,
  );
  master().kill("SIGSTOP");
  return found;
}

beforeAll(async () => {
  w = await world({ files });
  await w.startMaster(["--auto-accept"]);
  for (const id of ["a1", "a2", "a3"]) await w.startAgent(id);
  await w.waitHosts(["a1", "a2", "a3"]);
});

afterAll(async () => {
  if (w?.master) w.master.proc.kill("SIGCONT");
  for (const a of w?.agents.values() ?? []) a.proc.kill("SIGCONT");
  await w?.[Symbol.asyncDispose]();
});

describe("an agent killed with SIGKILL in the middle of a transfer", () => {
  test("big copy: the destination stays the old file, never partial; the next apply completes it", async () => {
    const newHash = bigFile(join(w.fileroot, "files/big/blob"), BIG);
    const dst = join(w.sandbox("a1"), "data/blob");
    mkdirSync(dirname(dst), { recursive: true });
    writeFileSync(dst, "the old blob\n");
    const running = apply("target=a1", "big=true");
    try {
      const temp = await freezeMasterMidTransfer(join(w.sandbox("a1"), "data"), 8 * 1024 * 1024);
      expect(statSync(temp).size).toBeLessThan(BIG); // caught in the middle
      w.agents.get("a1")!.kill("SIGKILL");
      await w.agents.get("a1")!.proc.exited;
    } finally {
      master().kill("SIGCONT");
    }
    const r = await running;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^host:a1 elapsed:\S+ errors:1/m);
    expect(r.stderr).toContain('"error":"connection lost"');
    expect(readFileSync(dst, "utf8")).toBe("the old blob\n");

    await w.startAgent("a1");
    await w.waitHosts(["a1"]);
    const again = await apply("target=a1", "big=true");
    expect(again.stderr).toBe("");
    expect(again.code).toBe(0);
    expect(sha256(readFileSync(dst))).toBe(newHash);
    expect(tempFiles(w.sandbox("a1"))).toEqual([]); // the torn temporary file is gone too
  }, 120_000);

  test("syncdir: every destination file is its old or its new version, never partial; the next apply completes it", async () => {
    const src = join(w.fileroot, "files/tree");
    const dst = join(w.sandbox("a2"), "data/tree");
    const versions = new Map<string, Set<string>>(); // path -> acceptable hashes
    const allow = (rel: string, hash: string) =>
      versions.set(rel, (versions.get(rel) ?? new Set()).add(hash));
    for (let i = 0; i < 120; i++) {
      const name = `${i < 60 ? "a" : "z"}-${String(i).padStart(3, "0")}`;
      const fresh = randomBytes(48 * 1024);
      mkdirSync(src, { recursive: true });
      writeFileSync(join(src, name), fresh);
      allow(name, sha256(fresh));
      if (i % 2 === 0) {
        const old = randomBytes(1000 + i);
        mkdirSync(dst, { recursive: true });
        writeFileSync(join(dst, name), old);
        allow(name, sha256(old));
      }
    }
    allow("m-big", bigFile(join(src, "m-big"), 64 * 1024 * 1024));
    writeFileSync(join(dst, "m-big"), "old big\n");
    allow("m-big", sha256("old big\n"));
    writeFileSync(join(dst, "stray"), "not in the source\n");
    allow("stray", sha256("not in the source\n"));

    const running = apply("target=a2", "tree=true");
    try {
      await freezeMasterMidTransfer(dst, 4 * 1024 * 1024);
      w.agents.get("a2")!.kill("SIGKILL");
      await w.agents.get("a2")!.proc.exited;
    } finally {
      master().kill("SIGCONT");
    }
    expect((await running).code).toBe(1);
    for (const [rel, kind] of Object.entries(snapshot(dst))) {
      if (/^\.[^/]*\.salty-/.test(rel)) continue; // the torn temporary file: never a destination
      expect(kind.startsWith("file:")).toBe(true);
      expect(versions.get(rel)?.has(kind.slice(5)) ? rel : `${rel} is partial`).toBe(rel);
    }

    await w.startAgent("a2");
    await w.waitHosts(["a2"]);
    const again = await apply("target=a2", "tree=true");
    expect(again.stderr).toBe("");
    expect(again.code).toBe(0);
    expect(snapshot(dst)).toEqual(snapshot(src));
    expect(tempFiles(w.sandbox("a2"))).toEqual([]);
  }, 120_000);
});

describe("the master killed and restarted during an apply", () => {
  test("the client exits 1 with a clear message; agents reconnect; the next apply succeeds", async () => {
    const running = apply("target=a*", "slow=2");
    await Bun.sleep(700);
    w.master!.kill("SIGKILL");
    await w.master!.proc.exited;
    const r = await running;
    await w.startMaster(["--auto-accept"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(
      /^salty: lost the connection to the master during the apply \(.+\); roles may have run on some hosts: apply again when the master is reachable\n$/,
    );
    expect(r.stderr.trim().split("\n")).toHaveLength(1);

    await w.waitHosts(["a1", "a2", "a3"]);
    const again = await apply("target=a*");
    expect(again.stderr).toBe("");
    expect(again.code).toBe(0);
  }, 60_000);
});

describe("an agent frozen with SIGSTOP", () => {
  test("its host gets rc 1 within the ping timeout, the others finish; after SIGCONT it reconnects", async () => {
    await w.waitHosts(["a1", "a2", "a3"]);
    const a3 = w.agents.get("a3")!;
    a3.proc.kill("SIGSTOP");
    try {
      const t0 = Date.now();
      const r = await apply("target=a*");
      const took = Date.now() - t0;
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^host:a3 elapsed:\S+ errors:1/m);
      expect(r.stderr).toContain('"error":"connection lost"');
      expect(r.stdout).toMatch(/^host:a1 elapsed:\S+ errors:0/m);
      expect(r.stdout).toMatch(/^host:a2 elapsed:\S+ errors:0/m);
      // Not a timing test: the bound only tells "found dead by the keep-alive" from "hung until the role timeout".
      expect(took).toBeLessThan(15_000);
    } finally {
      a3.proc.kill("SIGCONT");
    }
    await w.waitHosts(["a3"]);
    await until(async () => (await apply("target=a3")).code === 0, 15_000, "a3 to apply again");
  }, 60_000);
});

describe("a fileroot file deleted or changed while an apply reads it", () => {
  for (const what of ["deleted", "changed"] as const) {
    test(`${what}: rc 1 with a clear error, the old file intact, no temporary file; the next apply completes`, async () => {
      const src = join(w.fileroot, `files/big/${what}`);
      bigFile(src, BIG);
      const dst = join(w.sandbox("a3"), "data/blob");
      mkdirSync(dirname(dst), { recursive: true });
      writeFileSync(dst, "the old blob\n");
      const running = apply("target=a3", "big=true", `source=big/${what}`);
      let newest = "";
      try {
        await freezeMasterMidTransfer(join(w.sandbox("a3"), "data"), 8 * 1024 * 1024);
        if (what === "deleted") unlinkSync(src);
        else {
          // A new version put in place the way editors and git do: write beside it, rename over it.
          newest = bigFile(`${src}.new`, BIG);
          renameSync(`${src}.new`, src);
        }
      } finally {
        master().kill("SIGCONT");
      }
      const r = await running;
      expect(r.code).toBe(1);
      const error =
        what === "deleted"
          ? /"error":"copy\(big\/deleted, \/data\/blob\): [^"]*(no such file|ENOENT)/
          : /"error":"copy\(big\/changed, \/data\/blob\): files\/big\/changed changed on the master during the transfer; run again"/;
      expect(r.stderr).toMatch(error);
      expect(readFileSync(dst, "utf8")).toBe("the old blob\n");
      expect(tempFiles(w.sandbox("a3"))).toEqual([]);
      if (what === "deleted") newest = bigFile(src, BIG); // put back: the next apply completes
      const again = await apply("target=a3", "big=true", `source=big/${what}`);
      expect(again.code).toBe(0);
      expect(sha256(readFileSync(dst))).toBe(newest);
    }, 120_000);
  }
});
