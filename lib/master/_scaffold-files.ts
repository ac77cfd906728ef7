// The text of the files `salty init` writes (besides keys and types/salty.d.ts).
// Pure data: the example must type-check against types/salty.d.ts with the
// tsconfig below and nothing installed (no @types/node, no DOM lib).

export const scaffoldFiles: Record<string, string> = {
  "hosts/index.ts": `// The inventory: clusters, envs and hosts. A host id is the agent's --id
// (its host name by default); a glob matches the ids of connected agents.
import type { Inventory } from "salty";

export default {
  clusters: {
    lab: { domain: "lab.example" },
  },
  envs: {
    // Secrets go in as NACL[...] strings: salty crypto es "the secret"
    lab: { greeting: "hello from salty" },
  },
  hosts: {
    lab: {
      "*": { env: "lab", roles: ["example"], ignore_missing: true },
    },
  },
} satisfies Inventory;
`,
  "roles/example.ts": `// An example role: a directory, a copied file, a rendered template and a
// line in a file. Roles run on the agent; operators return a Result.
import type { Role } from "salty";

export default (async ({ makedirs, copy, render, lineInFile, print, id }) => {
  await makedirs("/tmp/salty-example");
  await copy("example/hello.txt", "/tmp/salty-example/hello.txt");
  const motd = await render("example/motd.ejs", "/tmp/salty-example/motd", { vars: { note: "rendered by salty" } });
  await lineInFile("managed_by=salty", "/tmp/salty-example/settings");
  if (motd.changed) print(\`motd of \${id} changed\`);
}) satisfies Role;
`,
  "files/example/hello.txt": "Copied by salty from files/example/hello.txt.\n",
  "files/example/motd.ejs": `Welcome to <%= id %> (cluster <%= me.cluster %>, env <%= me.env %>).
<%= me.vars.greeting %>: <%= note %>.
`,
  "tsconfig.json": `${JSON.stringify(
    {
      compilerOptions: {
        target: "ESNext",
        module: "Preserve",
        moduleResolution: "bundler",
        lib: ["ESNext"],
        types: [],
        strict: true,
        noEmit: true,
        // Roles import their roles/lib/ modules as "./lib/NAME.ts", as the agent loads them.
        allowImportingTsExtensions: true,
        skipLibCheck: true,
        paths: { salty: ["./types/salty.d.ts"] },
      },
      include: ["hosts", "roles", "types"],
    },
    null,
    2,
  )}\n`,
  ".gitignore": "# Keys and crypto.pass never leave this machine.\nkeys/\n",
};
