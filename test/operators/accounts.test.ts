// user() and group(): a dry run's planned world (a user planned earlier owns
// what later calls make), the password never shown, and the commands of each
// platform (macOS: planning only, checked on the commands generated).

import { describe, expect, test } from "bun:test";
import { createOperators } from "../../lib/operators/index.ts";
import { callOperator } from "../../lib/operators/call.ts";
import { group } from "../../lib/operators/group.ts";
import { user } from "../../lib/operators/user.ts";
import {
  parseDscl,
  parseGroups,
  parsePasswd,
  parseShadow,
} from "../../lib/operators/_account-files.ts";
import { groupCreate, userCreate, userModify } from "../../lib/operators/_accounts.ts";
import { keyId, mergeKeys } from "../../lib/operators/authorized-keys.ts";
import { baseContext, makeWorld } from "./_world.ts";
import type { SystemFixture } from "./_fakes.ts";

const addresses = { myIp: () => undefined, getIps: () => [] };
const HASH =
  "$6$abcdefgh$QmWnXyZ0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789./ab";
const sys = (): SystemFixture => ({
  users: { root: { uid: 0, gid: 0 }, svc: null, ops: { uid: 1400, gid: 1400, password: "!" } },
  groups: { svc: null, ops: 1400, app: null },
});

describe("a dry run plans on the users and groups planned earlier", () => {
  test("group, then user in it, then makedirs owned by them: all planned, no 'no such user'", async () => {
    using w = await makeWorld({ system: sys(), dryRun: true });
    const { operators: op } = createOperators(w.ctx(), baseContext, { addresses });
    expect((await op.group("app", { gid: 1600 })).rc).toBe(0);
    const u = await op.user("svc", { group: "app", groups: ["ops"], uid: 1700 });
    expect(u).toMatchObject({ rc: 0, changed: true });
    expect(u.output).toContain(
      "not run (dry run): useradd --uid 1700 --gid app --groups ops --create-home svc",
    );
    const d = await op.makedirs("/srv/svc", { user: "svc", group: "app" });
    expect(d.error).toBeUndefined();
    expect(d.output).toContain("would mkdir /srv/svc 0755 svc:app");
    // And the same user again is planned already.
    expect((await op.user("svc", { group: "app" })).changed).toBe(false);
  });

  test("a user planned earlier is compared with what was planned: the same call again changes nothing, another shell does", async () => {
    using w = await makeWorld({ system: sys(), dryRun: true });
    const { operators: op } = createOperators(w.ctx(), baseContext, { addresses });
    const want = { shell: "/bin/bash", comment: "Svc", password: HASH };
    expect((await op.user("svc", want)).changed).toBe(true);
    expect((await op.user("svc", want)).changed).toBe(false);
    const other = await op.user("svc", { ...want, shell: "/bin/sh" });
    expect(other.output).toContain("not run (dry run): usermod --shell /bin/sh svc");
    expect(other.output).not.toContain("chpasswd");
    // A real user changed earlier in the dry run: the change is what a later call sees.
    expect((await op.user("ops", { comment: "Ops" })).changed).toBe(true);
    expect((await op.user("ops", { comment: "Ops" })).changed).toBe(false);
  });

  test("a user removed earlier in the dry run no longer owns files", async () => {
    using w = await makeWorld({ system: sys(), dryRun: true });
    const { operators: op } = createOperators(w.ctx(), baseContext, { addresses });
    expect((await op.user("ops", { state: "absent" })).changed).toBe(true);
    expect((await op.makedirs("/srv/x", { user: "ops" })).error).toContain("no such user: ops");
  });
});

describe("the password is never shown", () => {
  test("not in the Result (dry run or applied), not in an argv: only chpasswd's stdin holds it", async () => {
    for (const dryRun of [true, false]) {
      using w = await makeWorld({ system: sys(), dryRun });
      const r = await callOperator(w.ctx(), user, ["ops", { password: HASH }]);
      expect(r.result).toMatchObject({ rc: 0, changed: true, cmd: "user(ops)" });
      expect(JSON.stringify(r.result)).not.toContain("QmWnXyZ");
      for (const c of r.plan!.changes)
        if (c.kind === "exec") expect(c.argv.join(" ")).not.toContain("QmWnXyZ");
      if (dryRun) expect(r.result.output).toContain("would change the password of user ops");
    }
  });

  test("a failing chpasswd is an error without the hash", async () => {
    using w = await makeWorld({ system: sys() });
    const exec = async () => ({ rc: 1, output: "chpasswd: (user ops) pam_chauthtok() failed\n" });
    const r = await callOperator(w.ctx({ exec }), user, ["ops", { password: HASH }]);
    expect(r.result.rc).toBe(1);
    expect(r.result.error).toContain("chpasswd -e failed (rc 1)");
    expect(r.result.error).not.toContain("QmWnXyZ");
  });

  test("a clear-text password is refused without echoing it", async () => {
    using w = await makeWorld({ system: sys() });
    const r = await callOperator(w.ctx(), user, ["ops", { password: "correct horse battery" }]);
    expect(r.result.rc).toBe(1);
    expect(r.result.error).not.toContain("horse");
  });
});

describe("parsers of the system files (captured text)", () => {
  test("/etc/passwd, /etc/shadow, /etc/group", () => {
    const p = parsePasswd(
      "root:x:0:0:root:/root:/bin/bash\n# c\n+nis::::::\ndeploy:x:1500:1500:Deploy,,,:/srv/deploy:/bin/bash\n",
    );
    expect(p.get("deploy")).toEqual({
      name: "deploy",
      uid: 1500,
      gid: 1500,
      comment: "Deploy,,,",
      home: "/srv/deploy",
      shell: "/bin/bash",
    });
    expect(p.has("+nis")).toBe(false);
    expect(
      parseShadow("root:*:19000:0:99999:7:::\ndeploy:$y$j9T$a$b:19000::::::\n").get("deploy"),
    ).toBe("$y$j9T$a$b");
    expect(parseGroups("docker:x:998:b,a\nadm:x:4:\n").get("docker")).toEqual({
      gid: 998,
      members: ["a", "b"],
    });
  });
  test("dscl -read output, values on the same or the next line", () => {
    const a = parseDscl(
      "NFSHomeDirectory: /Users/app\nRealName:\n App User\nUserShell: /bin/zsh\ndsAttrTypeNative:_writers_passwd: app\n",
    );
    expect([a.get("NFSHomeDirectory"), a.get("RealName"), a.get("UserShell")]).toEqual([
      "/Users/app",
      "App User",
      "/bin/zsh",
    ]);
  });
});

describe("macOS commands (planning only)", () => {
  const spec = {
    name: "app",
    system: false,
    createHome: true,
    shell: "/bin/zsh",
    comment: "App",
    groups: ["staff"],
  };
  test("a new user with its group: dscl records, the chosen ids, its home made, its groups", () => {
    expect(
      userCreate("darwin", spec, "app", true, { uid: 501, gid: 501 }).map((c) => c.argv.join(" ")),
    ).toEqual([
      "dscl . -create /Groups/app",
      "dscl . -create /Groups/app PrimaryGroupID 501",
      "dscl . -create /Users/app",
      "dscl . -create /Users/app UniqueID 501",
      "dscl . -create /Users/app PrimaryGroupID 501",
      "dscl . -create /Users/app UserShell /bin/zsh",
      "dscl . -create /Users/app NFSHomeDirectory /Users/app",
      "dscl . -create /Users/app RealName App",
      "createhomedir -c -u app",
      "dseditgroup -o edit -a app -t user staff",
    ]);
  });
  test("a change: one dscl -create per attribute, dseditgroup per group", () => {
    const d = {
      shell: "/bin/bash",
      group: "staff",
      groups: { want: ["admin"], add: ["admin"], drop: ["wheel"] },
    };
    expect(userModify("darwin", "app", d, 20).map((c) => c.argv.join(" "))).toEqual([
      "dscl . -create /Users/app PrimaryGroupID 20",
      "dscl . -create /Users/app UserShell /bin/bash",
      "dseditgroup -o edit -a app -t user admin",
      "dseditgroup -o edit -d app -t user wheel",
    ]);
    expect(
      groupCreate("darwin", "web", { system: true, members: ["app"] }, 250).map((c) =>
        c.argv.join(" "),
      ),
    ).toEqual([
      "dscl . -create /Groups/web",
      "dscl . -create /Groups/web PrimaryGroupID 250",
      "dseditgroup -o edit -a app -t user web",
    ]);
  });
  test("a password on macOS is refused (not a crypt hash there)", async () => {
    using w = await makeWorld({ system: { ...sys(), platform: "darwin" } });
    const r = await callOperator(w.ctx(), user, ["ops", { password: HASH }]);
    expect(r.result.error).toContain("not supported on macOS");
  });
});

describe("group() planned world", () => {
  test("members joined in a dry run are seen by a later usergroups", async () => {
    using w = await makeWorld({ system: sys(), dryRun: true });
    const { operators: op } = createOperators(w.ctx(), baseContext, { addresses });
    await op.group("app", { members: ["ops"] });
    const r = await op.usergroups("ops", ["app"]);
    expect([r.rc, r.changed]).toEqual([0, false]);
    expect((await callOperator(w.ctx(), group, ["app", {}])).result.rc).toBe(0);
  });
});

describe("authorizedKeys", () => {
  const K = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1 a@b",
    K2 = "ssh-rsa AAAAB3NzaC1yc2EAAA2 c@d";
  test("a key is its type and blob, whatever its options or comment", () => {
    expect(keyId(`no-pty,from="10.0.0.1" ${K} other`)).toBe(
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1",
    );
    expect(keyId("# ssh-rsa AAAA x")).toBeUndefined();
    expect(keyId("garbage")).toBeUndefined();
  });
  test("merge adds what is missing, once; exclusive is exactly the keys", () => {
    expect(mergeKeys(`${K}`, [K, K2, K2], false)).toBe(`${K}\n${K2}\n`);
    expect(mergeKeys(`${K}\n`, [K], false)).toBe(`${K}\n`);
    expect(mergeKeys(`${K}\n${K2}\n`, [K2], true)).toBe(`${K2}\n`);
  });
  test("in a dry run, for a user planned earlier: under the home it would get, owned by it", async () => {
    using w = await makeWorld({ system: sys(), dryRun: true });
    const { operators: op } = createOperators(w.ctx(), baseContext, { addresses });
    await op.user("svc", { home: "/srv/svc" });
    const r = await op.authorizedKeys("svc", [K]);
    expect(r.error).toBeUndefined();
    expect(r.output).toContain("would mkdir /srv/svc/.ssh 0700 svc:svc");
    expect(r.output).toContain("would write /srv/svc/.ssh/authorized_keys");
  });
});
