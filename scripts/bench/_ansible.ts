// The peer, in the same run: ansible-playbook (connection local) applying the
// generated Ansible roles to the same kind of sandboxes salty writes into.
// Optional: absent ansible-playbook is a note in the report, never a failure.
// Bench-only.

import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { timed } from "./_procs.ts";
import { ansibleInventory, type Workload } from "./_workloads.ts";

export interface AnsibleRun {
  wall: number;
  changed: number;
  ok: number;
}

export function ansibleVersion(): string | undefined {
  // The W1 playbook syncs its tree with rsync, as Ansible's synchronize does: without it there is no run to compare.
  if (!Bun.which("ansible-playbook") || !Bun.which("rsync")) return undefined;
  const r = timed(["ansible-playbook", "--version"]);
  return r.code === 0 ? r.stdout.split("\n")[0]?.trim() : undefined;
}

export class Ansible {
  readonly hosts: Array<[string, string]>;

  constructor(
    readonly w: Workload,
    ids: string[],
    readonly forks: number,
  ) {
    this.hosts = ids.map((id) => [id, join(w.ansible, "sandbox", id)]);
    writeFileSync(
      join(w.ansible, `inventory-${ids.length}.yml`),
      ansibleInventory(this.hosts, w.vars),
    );
  }

  wipe(): void {
    for (const [, root] of this.hosts) {
      rmSync(root, { recursive: true, force: true });
      mkdirSync(root, { recursive: true });
    }
  }

  run(): AnsibleRun {
    const env = {
      ...process.env,
      ANSIBLE_NOCOLOR: "1",
      ANSIBLE_RETRY_FILES_ENABLED: "0",
      ANSIBLE_DEPRECATION_WARNINGS: "0",
      ANSIBLE_LOCALHOST_WARNING: "0",
      ANSIBLE_HOME: join(this.w.ansible, ".ansible"),
      ANSIBLE_LOCAL_TEMP: join(this.w.ansible, ".ansible", "tmp"),
      ANSIBLE_FORKS: String(this.forks),
    };
    const r = timed(
      ["ansible-playbook", "-i", `inventory-${this.hosts.length}.yml`, "playbook.yml"],
      { cwd: this.w.ansible, env },
    );
    let changed = 0,
      ok = 0,
      failed = 0;
    for (const m of r.stdout.matchAll(
      /ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/g,
    )) {
      ok += Number(m[1]);
      changed += Number(m[2]);
      failed += Number(m[3]) + Number(m[4]);
    }
    if (r.code !== 0 || failed > 0)
      throw new Error(
        `ansible-playbook failed (exit ${r.code}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`,
      );
    return { wall: r.wall, changed, ok };
  }
}
