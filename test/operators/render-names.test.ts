// Templates run with their locals bound as variables (lib/operators/_template.ts
// `named`) render exactly what EJS's `with (locals)` renders; where the two
// could differ, the template runs under `with`, as before.

import { afterEach, beforeEach, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { timing } from "../../lib/constants.ts";
import { callOperator } from "../../lib/operators/call.ts";
import { render } from "../../lib/operators/render.ts";
import { makeWorld } from "./_world.ts";

const racy = timing.statRacyMs;
beforeEach(() => {
  timing.statRacyMs = 0;
});
afterEach(() => {
  timing.statRacyMs = racy;
});

/** A getter-free object whose method reads `this`: under `with`, a call finds the locals as `this`. */
function selfish() {
  return function (this: { port?: number }) {
    return this?.port;
  };
}

test.each([
  [
    "plain names, salty's helpers",
    "p=<%= port %> id=<%= id %> [<%= getIps('web') %>]",
    {},
    "p=8000 id=web1.test []",
    true,
  ],
  [
    "a name of the locals shadowed in a block",
    "<% for (const port of [1, 2]) { %><%= port %><% } %>|<%= port %>",
    {},
    "12|8000",
    true,
  ],
  [
    "an include with its own data",
    "<%- include('p.conf', { port: 9 }) %>/<%= port %>",
    {},
    "p9/8000",
    true,
  ],
  ["a name of the locals declared again", "<% let port = 1 %>p=<%= port %>", {}, "p=1", false],
  [
    "the locals object changed by the template",
    "<% locals.port = 9 %>p=<%= port %>",
    {},
    "p=9",
    false,
  ],
  ["a role's function that reads this", "<%= self() %>", { self: selfish() }, "8000", false],
  ["a key EJS leaves out", "<%= typeof constructor %>", { constructor: "x" }, "function", false],
  ["a key that is not a name", "<%= port %>", { "my-key": 1 }, "8000", false],
])("%s", async (_, template, vars, expected, asNames) => {
  using w = await makeWorld({
    master: { "files/t.conf": template, "files/p.conf": "p<%= port %>" },
  });
  const args = ["t.conf", "/etc/t.conf", { vars: { port: 8000, ...vars } }] as const;
  const r = await callOperator(w.ctx(), render, [...args] as never);
  expect(r.result.error).toBeUndefined();
  expect(readFileSync(join(w.prefix, "etc/t.conf"), "utf8")).toBe(expected);
  const forms = [...w.cache.named].filter(([k]) => k.startsWith("files/t.conf\0"));
  expect(forms.length > 0 && forms.every(([, fn]) => fn !== null)).toBe(asNames);
});
