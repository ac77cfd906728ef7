// cmd/_command.ts parses a command's words as citty does, without loading
// node:util: compared here with citty itself (its parseArgs, on Bun's
// node:util) over every salty command's argument definitions and some made
// up to reach the corners (camelCase names, enums, required options, alias
// arrays, defaults of the wrong type), on word lists drawn from each
// definition's own vocabulary: the same values, read by any spelling of a
// name, and the same errors.

import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs as cittyParse, type ArgsDef, type CommandDef } from "citty";
import { parseArgs, camelCase, kebabCase } from "../../cmd/_command.ts";
// scule's own, as citty bundles it (not among citty's exports).
const scule = (await import("../../node_modules/citty/dist/_chunks/libs/scule.mjs" as string)) as {
  t: (s: string) => string;
  n: (s: string) => string;
};
const sculeCamel = scule.t;
const sculeKebab = scule.n;

const CMD = join(import.meta.dir, "../../cmd");

/** mulberry32: the same word lists every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Resolvable<T> = T | Promise<T> | (() => T | Promise<T>);
const resolve = async <T>(v: Resolvable<T>): Promise<T> =>
  typeof v === "function" ? await (v as () => Promise<T>)() : await v;

/** Every leaf command's path and argument definitions, walking each command file's sub-commands. */
async function commandArgs(): Promise<[string, ArgsDef][]> {
  const out: [string, ArgsDef][] = [];
  const walk = async (path: string, cmd: CommandDef) => {
    const subs = (await resolve(cmd.subCommands)) ?? {};
    for (const [name, sub] of Object.entries(subs))
      await walk(`${path} ${name}`, (await resolve(sub)) as CommandDef);
    if (cmd.run) out.push([path, ((await resolve(cmd.args)) ?? {}) as ArgsDef]);
  };
  for (const file of readdirSync(CMD).sort()) {
    if (file.startsWith("_") || file === "main.ts" || !file.endsWith(".ts")) continue;
    const mod = (await import(join(CMD, file))) as { default?: CommandDef };
    if (mod.default) await walk(file.replace(/\.ts$/, ""), mod.default);
  }
  return out;
}

const made: [string, ArgsDef][] = [
  [
    "made: camelCase names, enum, required, alias arrays",
    {
      dryRun: { type: "boolean", alias: ["n", "dry"] },
      output_dir: { type: "string", default: "out" },
      level: { type: "enum", options: ["a", "b"], alias: "l" },
      name: { type: "string", required: true },
      x: { type: "boolean", default: true },
      file: { type: "positional", required: false },
      rest: { type: "positional", default: "r" },
    } as ArgsDef,
  ],
  [
    "made: a default of the wrong type (node:util refuses the options: every word positional)",
    {
      count: { type: "string", default: 3 as unknown as string },
      quiet: { type: "boolean", alias: "q" },
    } as ArgsDef,
  ],
  ["made: a required positional", { target: { type: "positional" } } as ArgsDef],
];

/** Words drawn from a definition: its names in every spelling, values, and what is not its own. */
function vocabulary(def: ArgsDef): string[] {
  const words = [
    "--",
    "-",
    "",
    "x",
    "web1",
    "-5",
    "--unknown",
    "--unknown=3",
    "-q",
    "-Z",
    "--no-unknown",
  ];
  words.push("--=x", "---a", "-vx", "a=b", "--json=false", "--json=true", "--json=");
  for (const [name, d] of Object.entries(def)) {
    if (d.type === "positional") continue;
    for (const n of new Set([name, camelCase(name), kebabCase(name)]))
      words.push(`--${n}`, `--${n}=v`, `--no-${n}`, `--${n}=false`, `-${n}`);
    const aliases = "alias" in d && d.alias !== undefined ? [d.alias].flat() : [];
    for (const a of aliases)
      words.push(`-${a}`, `-${a}${a}`, `-${a}v`, `-${a}=1`, `--${a}`, `-q${a}`);
  }
  return words;
}

type Outcome =
  | { ok: true; own: Record<string, unknown>; read: Record<string, unknown> }
  | {
      ok: false;
      error: { name: string; message: string; code?: string };
    };

function outcome(
  parse: (w: string[], d: ArgsDef) => Record<string, unknown>,
  words: string[],
  def: ArgsDef,
): Outcome {
  // citty pushes camelCase and kebab-case names into a definition's alias array: each parser its own copy.
  const copy = structuredClone(def);
  try {
    const parsed = parse([...words], copy);
    const read: Record<string, unknown> = {};
    for (const name of Object.keys(def))
      for (const n of [name, camelCase(name), kebabCase(name), "_", "nothing"]) read[n] = parsed[n];
    return { ok: true, own: { ...parsed }, read };
  } catch (err) {
    const e = err as Error & { code?: string };
    return { ok: false, error: { name: e.name, message: e.message, code: e.code } };
  }
}

describe("cmd/_command.ts parses as citty does", async () => {
  const defs = [...(await commandArgs()), ...made];

  test("every command is there", () => {
    const paths = defs.map(([p]) => p);
    for (const p of [
      "apply",
      "version",
      "jobs",
      "jobs show",
      "keys accept",
      "crypto e",
      "agent",
      "master",
    ])
      expect(paths).toContain(p);
  });

  test("scule's case functions, on names of every shape", () => {
    for (const n of [
      "",
      "a",
      "dry-run",
      "a--b",
      "-x",
      "x-",
      "dryRun",
      "DRY_run",
      "a1-b2",
      "x.y/z",
      "ÄBc",
      "history-max-mb",
      "9lives",
      "--",
    ]) {
      expect(camelCase(n)).toBe(sculeCamel(n));
      expect(kebabCase(n)).toBe(sculeKebab(n));
    }
  });

  test.each(defs)("%s", (_path, def) => {
    const words = vocabulary(def);
    const random = prng(0x5a17 + words.length);
    const lists: string[][] = [[]];
    for (const w of words) lists.push([w], [w, "val"], ["pos", w, "-x"]);
    for (let i = 0; i < 250; i++) {
      const n = 1 + Math.floor(random() * 6);
      lists.push(Array.from({ length: n }, () => words[Math.floor(random() * words.length)]!));
    }
    for (const list of lists) {
      const theirs = outcome(cittyParse as never, list, def);
      const ours = outcome(parseArgs as never, list, def);
      if (!Bun.deepEquals(ours, theirs, true))
        expect({ list, ours }).toStrictEqual({ list, ours: theirs } as never);
    }
  });
});
