import { expect, test } from "bun:test";
import { createUsers, parseDb } from "../../lib/sys/users.ts";

test("parseDb reads passwd and group lines, skipping comments and blanks", () => {
  const db = parseDb(
    "root:x:0:0:root:/root:/bin/bash\n# c\n\nweb:x:1000:1001::/home/web:/bin/sh\n",
    "root:x:0:\nweb:x:1001:\nadm:x:4:syslog,web\n",
  );
  expect(db.users.get("web")).toEqual({ name: "web", uid: 1000, gid: 1001 });
  expect(db.users.has("# c")).toBe(false);
  expect(db.groups.get("adm")).toEqual({ gid: 4, members: ["syslog", "web"] });
  expect(db.groups.get("web")).toEqual({ gid: 1001, members: [] });
});

test("the live system: this process's user, a missing user and group", async () => {
  const users = createUsers();
  const self = await users.self();
  expect(self.uid).toBe(process.getuid!());
  expect(await users.user(self.name)).toEqual(self);
  expect(await users.user("salty-no-such-user-x")).toBeUndefined();
  expect(await users.group("salty-no-such-group-x")).toBeUndefined();
});
