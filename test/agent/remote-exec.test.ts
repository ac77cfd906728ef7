// The agent's cmd.run handler (agent/remote-exec.ts) with real commands: the
// output chunks it sends (numbered, UTF-8 characters whole even when a read
// splits one), none for a command that prints nothing, and the refusal of an
// agent started with --no-remote-exec.
import { describe, expect, test } from "bun:test";
import { remoteExec } from "../../lib/agent/remote-exec.ts";
import type { CmdOutput } from "../../lib/wire/api.ts";

function run(argv: string[], shell = false, allowed = true) {
  const sent: CmdOutput[] = [];
  const handler = remoteExec({ allowed, send: (o) => sent.push(o) });
  const end = handler({ run: "r1", argv, shell, timeoutMs: 10_000, maxOutput: 1 << 20 });
  return { end, sent };
}

describe("remoteExec", () => {
  test("a command that prints nothing sends no output", async () => {
    const { end, sent } = run(["true"]);
    expect(await end).toMatchObject({ rc: 0 });
    expect((await end).cut).toBeUndefined();
    expect(sent).toEqual([]);
  });

  test("a character split across two reads arrives whole, in numbered chunks", async () => {
    // The first flush (runFlushMs after the first byte) holds the character's first byte back.
    const { end, sent } = run([`printf '\\303'; sleep 0.2; printf '\\251 done\\n'`], true);
    expect((await end).rc).toBe(0);
    expect(sent.map((o) => o.data).join("")).toBe("é done\n");
    expect(sent.map((o) => o.seq)).toEqual(sent.map((_, i) => i));
    expect(sent.every((o) => o.run === "r1" && o.data !== "")).toBe(true);
  });

  test("output that ends inside a character ends with a replacement character", async () => {
    const { end, sent } = run([`printf 'a\\303'`], true);
    expect((await end).rc).toBe(0);
    expect(sent.map((o) => o.data).join("")).toBe("a\ufffd");
  });

  test("an agent started with --no-remote-exec refuses", async () => {
    const { end, sent } = run(["true"], false, false);
    expect(await end.catch((e) => e.code)).toBe("E_DENIED");
    expect(sent).toEqual([]);
  });
});
