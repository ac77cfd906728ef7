// One description of a role's work, written out twice: as a salty role
// (roles/NAME.ts with EJS templates) and as an Ansible role (tasks/main.yml
// with the same templates in Jinja2), so that both tools do the same work.
// Bench-only.

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

export type Task =
  | { op: "copy"; src: string; dst: string }
  | { op: "render"; src: string; dst: string; port: number }
  | { op: "makedirs"; path: string; mode: number }
  | { op: "lineInFile"; line: string; path: string }
  | { op: "symlink"; target: string; path: string }
  | { op: "syncdir"; src: string; dst: string };

export interface RoleSpec {
  name: string;
  tasks: Task[];
}

const q = JSON.stringify;

function saltyCall(t: Task): string {
  switch (t.op) {
    case "copy":
      return `await copy(${q(t.src)}, ${q(t.dst)});`;
    case "render":
      return `await render(${q(t.src)}, ${q(t.dst)}, { vars: { port: ${t.port} } });`;
    case "makedirs":
      return `await makedirs(${q(t.path)}, { mode: 0o${t.mode.toString(8)} });`;
    case "lineInFile":
      return `await lineInFile(${q(t.line)}, ${q(t.path)});`;
    case "symlink":
      return `await symlink(${q(t.target)}, ${q(t.path)});`;
    case "syncdir":
      return `await syncdir(${q(t.src)}, ${q(t.dst)});`;
  }
}

/** roles/NAME.ts */
export function saltyRole(r: RoleSpec): string {
  const body = r.tasks.map((t) => `  ${saltyCall(t)}`).join("\n");
  return `import type { Role } from "salty";\nexport default (async ({ copy, render, makedirs, lineInFile, symlink, syncdir }) => {\n${body}\n}) satisfies Role;\n`;
}

/** An Ansible task doing what the salty call does; destinations under {{ root }} (salty's --path). */
function ansibleTask(t: Task, fileroot: string): string {
  const at = (p: string) => q(`{{ root }}${p}`);
  switch (t.op) {
    case "copy":
      return `- ansible.builtin.copy: { src: ${q(join(fileroot, "files", t.src))}, dest: ${at(t.dst)}, mode: "0644" }`;
    case "render":
      return `- ansible.builtin.template: { src: ${q(`${t.src.replaceAll("/", "_")}.j2`)}, dest: ${at(t.dst)}, mode: "0644" }\n  vars: { port: ${t.port} }`;
    case "makedirs":
      return `- ansible.builtin.file: { path: ${at(t.path)}, state: directory, mode: "0${t.mode.toString(8)}" }`;
    case "lineInFile":
      return `- ansible.builtin.lineinfile: { path: ${at(t.path)}, line: ${q(t.line)}, create: true, mode: "0644" }`;
    case "symlink":
      return `- ansible.builtin.file: { src: ${q(t.target)}, dest: ${at(t.path)}, state: link, force: true }`;
    case "syncdir":
      // What ansible.posix.synchronize runs, without needing that collection.
      return [
        `- ansible.builtin.file: { path: ${at(dirname(t.dst))}, state: directory }`,
        `- ansible.builtin.command: rsync -a --delete --itemize-changes ${join(fileroot, t.src)}/ {{ root }}${t.dst}/`,
        `  register: sync`,
        `  changed_when: sync.stdout != ""`,
      ].join("\n");
  }
}

/** ansible/roles/NAME/tasks/main.yml */
export function ansibleRole(r: RoleSpec, fileroot: string): string {
  return `${r.tasks.map((t) => ansibleTask(t, fileroot)).join("\n")}\n`;
}

/** A template both tools render alike: host vars, facts and a loop. */
export function templates(role: string, i: number): { ejs: string; jinja: string } {
  // One variable only the first nginx template uses: W1 (c) changes it.
  const tuned = role === "nginx" && i === 0;
  const filler = Array.from(
    { length: 40 },
    (_, k) => `option_${role}_${i}_${k} = value_${(k * 7919 + i) % 1000}`,
  ).join("\n");
  const ejs = `# ${role} template ${i} for <%= id %> on <%= me.facts.hostname %> (<%= me.facts.os.name %>)
listen <%= port %>;
worker_processes <%= me.vars.workers %>;
log_level <%= me.vars.log_level %>;
${tuned ? "keepalive_requests <%= me.vars.keepalive %>;\n" : ""}<% for (const u of me.vars.upstreams) { -%>
server <%= u.host %>:<%= u.port %> weight=<%= u.weight %>;
<% } -%>
${filler}
`;
  const jinja = `# ${role} template ${i} for {{ inventory_hostname }} on {{ ansible_facts.hostname }} ({{ ansible_facts.distribution }})
listen {{ port }};
worker_processes {{ workers }};
log_level {{ log_level }};
${tuned ? "keepalive_requests {{ keepalive }};\n" : ""}{% for u in upstreams %}
server {{ u.host }}:{{ u.port }} weight={{ u.weight }};
{% endfor %}
${filler}
`;
  return { ejs, jinja };
}

export function write(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
}

/** The playbook applying `roles` to every host of the inventory, facts gathered (minimal subset). */
export function playbook(roles: string[]): string {
  return `- hosts: all\n  gather_facts: true\n  gather_subset: ["!all", "min"]\n  roles: [${roles.map((r) => q(r)).join(", ")}]\n`;
}

/** Upstreams for the template loop. */
export function upstreams(n: number): Array<{ host: string; port: number; weight: number }> {
  return Array.from({ length: n }, (_, i) => ({
    host: `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`,
    port: 8000 + i,
    weight: (i % 5) + 1,
  }));
}
