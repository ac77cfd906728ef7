// The app, built once by CI and promoted as the same artifact: apply with the
// version and its checksum, e.g.
//   salty apply target=app1.example.test version=1.4.2 sha256=9f86d0... url=https://ci.example.test/app-1.4.2.tar.gz
import type { Inventory } from "salty";

export default {
  hosts: {
    app: {
      "app1.example.test": { env: "prod", roles: ["app"], vars: { port: 8080 } },
    },
  },
} satisfies Inventory;
