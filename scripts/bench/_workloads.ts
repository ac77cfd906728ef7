// The benchmark's fileroots, generated deterministically: W1 (one host, ten
// realistic roles and a 2,000-file syncdir), W2 (one small role for many
// hosts) and W3 (one bulk syncdir), each with the Ansible playbook doing the
// same work beside it (ansible/). Bench-only.

import { join } from "node:path";
import { Prng, cut, randomBlock, textOf } from "./_prng.ts";
import {
  ansibleRole,
  playbook,
  saltyRole,
  templates,
  upstreams,
  write,
  type RoleSpec,
  type Task,
} from "./_roles.ts";
import { writeTree, type TreeSpec } from "./_trees.ts";

export const W1_ROLES = [
  "base",
  "ntp",
  "ssh",
  "nginx",
  "app",
  "db",
  "cache",
  "monitoring",
  "logging",
  "static",
];
export const W1_SYNC: TreeSpec = { files: 2000, bytes: 50_000_000, seed: 11 };

export interface Workload {
  fileroot: string;
  /** ansible/: playbook.yml, roles/, and inventory() for a list of (host, root) pairs. */
  ansible: string;
  roles: string[];
  /** Host vars both tools see. */
  vars: Record<string, unknown>;
}

export function inventory(hostKey: string, roles: string[], vars: Record<string, unknown>): string {
  const spec = { env: "prod", roles, vars };
  return `import type { Inventory } from "salty";
export default {
  clusters: { bench: { domain: "bench.test" } },
  envs: { prod: { log_level: "warn" } },
  hosts: { bench: { ${JSON.stringify(hostKey)}: ${JSON.stringify(spec)} } },
} satisfies Inventory;
`;
}

/** Ansible's inventory (JSON is YAML): each host local, with salty's --path as `root`. */
export function ansibleInventory(
  hosts: Array<[id: string, root: string]>,
  vars: Record<string, unknown>,
): string {
  const all = Object.fromEntries(
    hosts.map(([id, root]) => [
      id,
      { ansible_connection: "local", ansible_python_interpreter: "/usr/bin/python3", root },
    ]),
  );
  return JSON.stringify({ all: { hosts: all, vars: { ...vars, log_level: "warn" } } }, null, 1);
}

function writeRole(
  w: Workload,
  spec: RoleSpec,
  rng: Prng,
  block: Uint8Array,
  text: Uint8Array,
): void {
  write(join(w.fileroot, "roles", `${spec.name}.ts`), saltyRole(spec));
  write(join(w.ansible, "roles", spec.name, "tasks", "main.yml"), ansibleRole(spec, w.fileroot));
  let n = 0;
  for (const t of spec.tasks) {
    if (t.op === "copy") {
      const binary = t.src.endsWith(".bin");
      write(
        join(w.fileroot, "files", t.src),
        cut(rng, binary ? block : text, rng.int(1024, 50 * 1024), t.src),
      );
    } else if (t.op === "render") {
      const { ejs, jinja } = templates(spec.name, n++);
      write(join(w.fileroot, "files", t.src), ejs);
      write(
        join(w.ansible, "roles", spec.name, "templates", `${t.src.replaceAll("/", "_")}.j2`),
        jinja,
      );
    }
  }
}

function roleTasks(name: string, i: number): Task[] {
  const at = `/srv/${name}`;
  const tasks: Task[] = [
    { op: "makedirs", path: `${at}/conf.d`, mode: 0o755 },
    { op: "makedirs", path: `${at}/log`, mode: 0o750 },
  ];
  for (let k = 0; k < 6; k++) {
    const file = `c${k}.${k % 3 === 2 ? "bin" : "txt"}`;
    tasks.push({ op: "copy", src: `${name}/${file}`, dst: `${at}/conf.d/${file}` });
  }
  for (let k = 0; k < 2; k++)
    tasks.push({
      op: "render",
      src: `${name}/t${k}.conf`,
      dst: `${at}/t${k}.conf`,
      port: 8000 + i * 10 + k,
    });
  tasks.push({
    op: "lineInFile",
    line: `managed_by=salty-bench ${name}`,
    path: `${at}/settings.ini`,
  });
  if (i < 5)
    tasks.push({ op: "symlink", target: `${at}/conf.d/c0.txt`, path: `${at}/current.conf` });
  if (name === "static") tasks.push({ op: "syncdir", src: "files/static/tree", dst: `${at}/tree` });
  return tasks;
}

function workload(dir: string, roles: string[], vars: Record<string, unknown>): Workload {
  return { fileroot: join(dir, "fileroot"), ansible: join(dir, "ansible"), roles, vars };
}

/** W1: 60 copy, 20 render, 20 makedirs, 10 lineInFile, 5 symlink and one syncdir of 2,000 files / 50 MB. */
export function makeW1(dir: string): Workload {
  const w = workload(dir, W1_ROLES, { workers: 4, keepalive: 100, upstreams: upstreams(12) });
  const rng = new Prng(1);
  const block = randomBlock(rng, 256 * 1024);
  const text = textOf(rng, 256 * 1024, "copy sources");
  W1_ROLES.forEach((name, i) =>
    writeRole(w, { name, tasks: roleTasks(name, i) }, rng, block, text),
  );
  writeTree(join(w.fileroot, "files/static/tree"), W1_SYNC);
  setW1Keepalive(w, 100);
  write(join(w.ansible, "playbook.yml"), playbook(W1_ROLES));
  return w;
}

/** The template variable W1 (c) changes (used by one template): hosts/index.ts is rewritten. */
export function setW1Keepalive(w: Workload, keepalive: number): void {
  w.vars = { ...w.vars, keepalive };
  write(join(w.fileroot, "hosts/index.ts"), inventory("w1", W1_ROLES, w.vars));
}

/** W2: one small role (5 copy, 2 render, 2 makedirs) for every host named w2-*. */
export function makeW2(dir: string): Workload {
  const w = workload(dir, ["small"], { workers: 2, upstreams: upstreams(4) });
  const rng = new Prng(2);
  const tasks: Task[] = [
    { op: "makedirs", path: "/srv/small/conf.d", mode: 0o755 },
    { op: "makedirs", path: "/srv/small/log", mode: 0o750 },
    ...[0, 1, 2, 3, 4].map(
      (k): Task => ({
        op: "copy",
        src: `small/c${k}.${k === 2 ? "bin" : "txt"}`,
        dst: `/srv/small/conf.d/c${k}`,
      }),
    ),
    { op: "render", src: "small/t0.conf", dst: "/srv/small/t0.conf", port: 9000 },
    { op: "render", src: "small/t1.conf", dst: "/srv/small/t1.conf", port: 9001 },
  ];
  writeRole(
    w,
    { name: "small", tasks },
    rng,
    randomBlock(rng, 64 * 1024),
    textOf(rng, 64 * 1024, "small"),
  );
  write(join(w.fileroot, "hosts/index.ts"), inventory("w2-*", ["small"], w.vars));
  write(join(w.ansible, "playbook.yml"), playbook(["small"]));
  return w;
}

/** W3: one syncdir of `spec` (1 GB in 10,000 files; smaller with --quick). */
export function makeW3(dir: string, spec: TreeSpec): Workload & { files: string[] } {
  const w = workload(dir, ["bulk"], {});
  write(
    join(w.fileroot, "roles/bulk.ts"),
    saltyRole({ name: "bulk", tasks: [{ op: "syncdir", src: "files/bulk", dst: "/srv/bulk" }] }),
  );
  const files = writeTree(join(w.fileroot, "files/bulk"), spec);
  write(join(w.fileroot, "hosts/index.ts"), inventory("w3", ["bulk"], {}));
  return { ...w, files };
}
