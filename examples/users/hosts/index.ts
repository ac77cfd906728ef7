// The team's accounts on every host. alice's keys are
// files/users/alice.keys.enc, encrypted with scripts/demo-crypto.pass (a
// public demo-only password: use your own, `salty init` makes one, and
// `salty crypto e files/users/NAME.keys` writes NAME.keys.enc).
import type { Inventory } from "salty";

export default {
  envs: {
    prod: {
      admins: ["alice"],
      deploy_keys: [
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDeployCIKeyExampleOnlyxxxxxxxxxxxxxxxxxxx ci@build",
      ],
    },
  },
  hosts: {
    web: {
      "web1.example.test": { env: "prod", roles: ["users"] },
    },
  },
} satisfies Inventory;
