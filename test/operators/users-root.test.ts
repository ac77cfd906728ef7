// useradd, usergroups and ownership against the real system: needs root (as
// in CI). Users and groups get unique names and are deleted afterwards.

import { afterAll, describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import { copy } from "../../lib/operators/copy.ts";
import { callOperator } from "../../lib/operators/call.ts";
import { useradd } from "../../lib/operators/useradd.ts";
import { usergroups } from "../../lib/operators/usergroups.ts";
import { group } from "../../lib/operators/group.ts";
import { user as userOp } from "../../lib/operators/user.ts";
import { readFileSync } from "node:fs";
import { createUsers } from "../../lib/sys/users.ts";
import { makeWorld } from "./_world.ts";

const isRoot = process.getuid?.() === 0;
const tag = `${process.pid.toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const user = `st-u-${tag}`,
  extra = `st-g-${tag}`;
const full = `st-f-${tag}`,
  team = `st-t-${tag}`;
const made: string[] = [];

if (!isRoot) console.warn("users-root.test.ts: skipped, needs root (useradd, chown)");

afterAll(() => {
  for (const name of made) {
    Bun.spawnSync(["userdel", "--remove", name], { stderr: "ignore" });
    Bun.spawnSync(["groupdel", name], { stderr: "ignore" });
  }
});

describe.skipIf(!isRoot)("real users (root)", () => {
  test("useradd makes a user and its group; the second call changes nothing", async () => {
    using w = await makeWorld();
    made.push(user, extra);
    const r = await callOperator(w.ctx(), useradd, [user]);
    expect(r.result).toMatchObject({ rc: 0, changed: true, created: true });
    const users = createUsers();
    const info = await users.user(user);
    expect(info).toBeDefined();
    expect(await users.group(user)).toBe(info!.gid);
    expect((await callOperator(w.ctx(), useradd, [user])).result).toMatchObject({
      rc: 0,
      changed: false,
    });
    expect((await callOperator(w.ctx(), useradd, [extra, { system: true }])).result).toMatchObject({
      rc: 0,
      changed: true,
    });
    expect((await users.user(extra))!.uid).toBeLessThan(1000);
  });

  test("usergroups sets exactly the supplementary groups", async () => {
    using w = await makeWorld();
    const users = w.ctx().users; // the instance the operators use (it forgets what it cached after each command)
    expect((await callOperator(w.ctx(), usergroups, [user, [extra]])).result).toMatchObject({
      rc: 0,
      changed: true,
    });
    expect(await users.groupsOf(user)).toEqual([extra]);
    expect((await callOperator(w.ctx(), usergroups, [user, [extra]])).result.changed).toBe(false);
    expect((await callOperator(w.ctx(), usergroups, [user, []])).result.changed).toBe(true);
    expect(await users.groupsOf(user)).toEqual([]);
  });

  test("copy with user and group owns the file; a changed owner is fixed on the next run", async () => {
    using w = await makeWorld({ master: { "files/a.conf": "a\n" } });
    const users = createUsers();
    const u = (await users.user(user))!;
    const gid = (await users.group(extra))!;
    await callOperator(w.ctx(), copy, [
      "a.conf",
      "/etc/a.conf",
      { user, group: extra, mode: 0o640 },
    ]);
    const path = join(w.prefix, "etc/a.conf");
    expect(statSync(path)).toMatchObject({ uid: u.uid, gid });
    Bun.spawnSync(["chown", "root:root", path]);
    const again = await callOperator(w.ctx(), copy, [
      "a.conf",
      "/etc/a.conf",
      { user, group: extra, mode: 0o640 },
    ]);
    expect(again.plan?.changes).toEqual([
      { kind: "chown", path: "/etc/a.conf", uid: u.uid, gid, was: { uid: 0, gid: 0 } },
    ]);
    expect(statSync(path)).toMatchObject({ uid: u.uid, gid });
  });

  test("a failing user command is an error with its output", async () => {
    using w = await makeWorld();
    const exec = async () => ({ rc: 9, output: "useradd: cannot lock /etc/passwd\n" });
    const r = await callOperator(w.ctx({ exec }), useradd, [`st-x-${tag}`]);
    expect(r.result.rc).toBe(1);
    expect(r.result.error).toContain("failed (rc 9): useradd: cannot lock /etc/passwd");
  });

  test("user() and group() with every attribute: made, unchanged on the second run, changed, removed", async () => {
    using w = await makeWorld();
    made.push(full, team);
    const hash =
      "$6$st$6Wn9vX1JjM1c2Kx4ZQy1oB8h0e7v2Pp3bqC7c5gZ3eA6N1H0r9Q2sT4uV5wX6yZ7aB8cD9eF0gH1iJ2kL3mN4.";
    const want = {
      uid: 23456,
      home: `/tmp/${full}-home`,
      shell: "/bin/bash",
      comment: "Salty Test",
      password: hash,
      createHome: false,
    };
    const first = await callOperator(w.ctx(), userOp, [full, want]);
    expect(first.result).toMatchObject({ rc: 0, changed: true, created: true });
    const line = readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .find((l) => l.startsWith(`${full}:`));
    expect(line).toBe(
      `${full}:x:23456:${(await createUsers().group(full))!}:Salty Test:/tmp/${full}-home:/bin/bash`,
    );
    expect(readFileSync("/etc/shadow", "utf8")).toContain(`${full}:${hash}:`);
    const again = await callOperator(w.ctx(), userOp, [full, want]);
    expect(again.result).toMatchObject({ rc: 0, changed: false });
    expect(again.plan?.note).toBe("user in place with those attributes");
    // A group with the user as its member, then the user's shell and password changed.
    expect(
      (await callOperator(w.ctx(), group, [team, { gid: 23457, members: [full] }])).result,
    ).toMatchObject({ rc: 0, changed: true });
    expect(
      (await callOperator(w.ctx(), group, [team, { gid: 23457, members: [full] }])).result.changed,
    ).toBe(false);
    expect(await w.ctx().users.groupsOf(full)).toEqual([team]);
    const changed = await callOperator(w.ctx(), userOp, [
      full,
      { ...want, shell: "/bin/sh", password: "!" },
    ]);
    expect(changed.result).toMatchObject({ rc: 0, changed: true });
    expect(readFileSync("/etc/shadow", "utf8")).toContain(`${full}:!:`);
    expect(
      (await callOperator(w.ctx(), userOp, [full, { ...want, shell: "/bin/sh", password: "!" }]))
        .result.changed,
    ).toBe(false);
    expect((await callOperator(w.ctx(), group, [team, { members: [] }])).result.changed).toBe(true);
    expect(await w.ctx().users.groupsOf(full)).toEqual([]);
    expect((await callOperator(w.ctx(), userOp, [full, { state: "absent" }])).result).toMatchObject(
      { rc: 0, changed: true },
    );
    expect((await callOperator(w.ctx(), userOp, [full, { state: "absent" }])).result.changed).toBe(
      false,
    );
    expect((await callOperator(w.ctx(), group, [team, { state: "absent" }])).result.changed).toBe(
      true,
    );
    expect(await createUsers().group(team)).toBeUndefined();
  });
});
