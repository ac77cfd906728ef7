// The master's side of serverShell on its own (real processes): a declared
// command runs with the args as argv and $SALTY_ARGS, in the fileroot, killed
// at its timeout; requests that name anything else are refused.
import { expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { masterShell, serverCommandRequest } from "../../lib/master/server-shell.ts";
import { realExec } from "../../lib/sys/exec.ts";
import { setLogSink } from "../../lib/log.ts";
import { tempDirForFile } from "../_temp.ts";

setLogSink(() => {});
const root = tempDirForFile("salty-ss-");
mkdirSync(join(root, "server"));
writeFileSync(
  join(root, "server/args"),
  `#!/bin/sh\nprintf '%s|' "$@"; echo "$SALTY_ARGS $SALTY_AGENT $SALTY_ROLE"; pwd\n`,
);
writeFileSync(join(root, "server/slow"), "#!/bin/sh\nsleep 30\n");
chmodSync(join(root, "server/args"), 0o755);
chmodSync(join(root, "server/slow"), 0o755);
const run = masterShell(realExec, root);

test("the args reach the command as argv words (no shell) and as JSON, with the caller", async () => {
  const r = await run({ name: "args", role: "web", args: ["$(id)", "a b", 3] }, { id: "web1" });
  expect(r.rc).toBe(0);
  expect(r.output).toBe(`$(id)|a b|3|["$(id)","a b",3] web1 web\n${root}\n`);
});

test("a command past its timeout is killed and says so", async () => {
  const r = await run({ name: "slow", role: "web", timeout: 0.2 }, { id: "web1" });
  expect(r.rc).not.toBe(0);
  expect(r.error).toBe("timed out after 0.2s");
});

test.each([
  [
    { name: "args; id", role: "web" },
    "serverShell names a command of the master's server/ directory",
  ],
  [{ name: "args", role: "db" }, "not one of this host's roles"],
  [{ name: "args", role: "web", args: new Uint8Array(3) }, "args must be JSON data, got bytes"],
  [
    { name: "args", role: "web", args: { deep: [Infinity] } },
    "args.deep[0] must be a finite number",
  ],
])("%j is refused", (params, message) => {
  expect(() => serverCommandRequest(params, new Set(["web"]))).toThrow(message);
});
