// A command whose working directory does not exist: the error names the
// directory, not the program (posix_spawn says ENOENT for both).
import { expect, test } from "bun:test";
import { realExec } from "../../lib/sys/exec.ts";

test("a missing cwd is named as such; a missing program still is", async () => {
  expect(await realExec(["/bin/sh", "-c", "true"], { cwd: "/nonexistent/dir" })).toEqual({
    rc: 127,
    output: "cannot run /bin/sh: the working directory /nonexistent/dir does not exist",
  });
  const r = await realExec(["/nonexistent/prog"], { cwd: "/" });
  expect(r.rc).toBe(127);
  expect(r.output).toMatch(/^cannot run \/nonexistent\/prog: .*ENOENT/);
});
