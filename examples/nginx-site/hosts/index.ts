// One web server, three virtual hosts. Apply: salty apply target=web1.example.test
import type { Inventory } from "salty";

export default {
  hosts: {
    web: {
      "web1.example.test": {
        env: "prod",
        roles: ["nginx_site"],
        vars: {
          sites: [
            { name: "www", server_name: "www.example.test", root: "/srv/www/www" },
            { name: "docs", server_name: "docs.example.test", root: "/srv/www/docs" },
            { name: "status", server_name: "status.example.test", root: "/srv/www/status" },
          ],
        },
      },
    },
  },
} satisfies Inventory;
