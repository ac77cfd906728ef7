// The example inventory that `npm run demo` applies: one cluster, one env,
// two hosts. The NACL[...] secret is encrypted with scripts/demo-crypto.pass,
// a public demo-only password: make your own with `salty init` and
// `salty crypto es`.
import type { Inventory } from "salty";

export default {
  clusters: {
    demo: { domain: "salty.test", ntp_servers: ["0.pool.ntp.org", "1.pool.ntp.org"] },
  },
  envs: {
    dev: {
      log_level: "debug",
      db_password: "NACL[RIdAyljdoCU4TMygsbwRylI1-uSM6GRD0pAIDyexogIQBa0ZWrvZjV6SPLYBCHgrzCyEGhYz]",
    },
  },
  hosts: {
    demo: {
      "web1.salty.test": {
        env: "dev",
        roles: ["role1", "supervisord", "nginx"],
        vars: { weight: 3 },
      },
      "web2.salty.test": {
        env: "dev",
        roles: ["role1", "nginx"],
        vars: { weight: 1, log_level: "info" },
      },
    },
  },
} satisfies Inventory;
