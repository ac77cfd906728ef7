// A reader that goes away (`salty meta | head -1`) ends the command quietly
// with its own status: no "EPIPE" stack trace on the user's terminal.
import { expect, test } from "bun:test";
import { REPO, binary } from "./_harness.ts";
import { tempDir } from "../_temp.ts";

test("output into a closed pipe: exit 0, nothing on stderr", async () => {
  const bin = await binary();
  using scratch = tempDir("salty-epipe-");
  const keyroot = scratch.path;
  // `true` exits at once; salty writes 0.3 s later, into a pipe nobody reads.
  const script = `(sleep 0.3; exec "$0" meta --keyroot "$1" --fileroot "$2") | true; echo "status=\${PIPESTATUS[0]}" >&2`;
  const p = Bun.spawn(["bash", "-c", script, bin, keyroot, REPO], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
  expect(code).toBe(0);
  expect(stderr).toBe("status=0\n");
});
