// Deploy tokens (lib/deploy/tokens.ts) on both stores the master may use:
// SQLite in the keyroot and a real PostgreSQL server. A token revoked through
// one connection is refused at once through another (two masters sharing
// the store); the store holds the secret's hash only.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { tempDirs } from "../_temp.ts";
import { HistoryStore } from "../../lib/history/store.ts";
import { openPostgres } from "../../lib/history/postgres.ts";
import { openSqlite } from "../../lib/history/sqlite.ts";
import { Forbidden, TokenStore, Unauthenticated, authorize } from "../../lib/deploy/tokens.ts";
import { backends } from "../history/_backends.ts";

const temp = tempDirs("salty-tokens-");

for (const b of backends()) {
  describe.skipIf(!!b.skip)(`deploy tokens on ${b.name}`, () => {
    /** Two stores over one database, as two masters sharing it would have. */
    async function two(): Promise<[TokenStore, TokenStore, () => Promise<void>]> {
      const dir = temp();
      const first = await b.open(dir);
      const second = first.url ? openPostgres(first.url) : openSqlite(join(dir, "history.db"));
      const s1 = new HistoryStore(first.db),
        s2 = new HistoryStore(second);
      return [
        new TokenStore(s1),
        new TokenStore(s2),
        async () => (await s1.close(), await s2.close()),
      ];
    }

    test("issued, authenticated, scoped; a wrong secret, an unknown id and a malformed token are 401", async () => {
      const [a, , close] = await two();
      try {
        const { token, info } = await a.issue({ project: "shop", deployment: "prod", name: "ci" });
        expect(token).toMatch(/^salty_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
        const t = await a.authenticate(token);
        expect(t).toEqual(info);
        expect(() => authorize(t, "shop", "prod")).not.toThrow();
        expect(() => authorize(t, "shop", "dev")).toThrow(Forbidden);
        expect(() => authorize(t, "blog", "prod")).toThrow(Forbidden);
        await expect(
          a.authenticate(`${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`),
        ).rejects.toThrow(Unauthenticated);
        await expect(a.authenticate(`salty_000000000000_${token.slice(-43)}`)).rejects.toThrow(
          Unauthenticated,
        );
        await expect(a.authenticate("hunter2")).rejects.toThrow(Unauthenticated);
        const secret = token.slice(-43);
        expect(JSON.stringify(await a.list())).not.toContain(secret);
      } finally {
        await close();
      }
    });

    test("revoked through one store: refused at once through the other", async () => {
      const [a, b2, close] = await two();
      try {
        const { token, info } = await a.issue({ project: "shop" });
        expect((await b2.authenticate(token)).project).toBe("shop");
        expect(await a.revoke(info.id)).toBe(true);
        await expect(b2.authenticate(token)).rejects.toThrow(/revoked/);
        expect(await a.revoke("ffffffffffff")).toBe(false);
      } finally {
        await close();
      }
    });

    test("an expired token is 401; bad names are refused at issue", async () => {
      const [a, , close] = await two();
      try {
        const { token } = await a.issue({ project: "shop", expiresInMs: -1 });
        await expect(a.authenticate(token)).rejects.toThrow(/expired/);
        await expect(a.issue({ project: "../etc" })).rejects.toThrow(/project name/);
        await expect(a.issue({ project: "shop", deployment: "a/b" })).rejects.toThrow(
          /deployment name/,
        );
      } finally {
        await close();
      }
    });
  });
}
