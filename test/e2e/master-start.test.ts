// A master that cannot start says why in one line and exits 1: it does not
// linger with its watchers, timers and history open (the real binary).
import { expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { binary } from "./_harness.ts";
import { tempDir } from "../_temp.ts";

test("a master whose port is taken exits 1 with one line, not a process left running", async () => {
  using scratch = tempDir("salty-master-start-");
  const fileroot = join(scratch.path, "fileroot");
  mkdirSync(join(fileroot, "hosts"), { recursive: true });
  writeFileSync(join(fileroot, "hosts", "index.ts"), "export default { hosts: {} };\n");
  const taken = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const proc = Bun.spawn(
    [
      await binary(),
      "master",
      "--bind",
      `127.0.0.1:${taken.port}`,
      "--keyroot",
      join(scratch.path, "keys"),
      "--fileroot",
      fileroot,
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  try {
    const exited = await Promise.race([proc.exited, Bun.sleep(15_000).then(() => "still running")]);
    expect(exited).toBe(1);
    const stderr = await new Response(proc.stderr).text();
    const errors = stderr.split("\n").filter((l) => l.startsWith("salty: "));
    expect(errors).toEqual([`salty: cannot listen on 127.0.0.1:${taken.port}: listen EADDRINUSE`]);
  } finally {
    proc.kill("SIGKILL");
    await proc.exited;
    taken.stop(true);
  }
});
