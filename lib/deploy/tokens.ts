// Deploy tokens: what lets a CI job upload and make live a bundle for one
// project (and optionally one deployment), and nothing else. A token is
// `salty_ID_SECRET`: ID names its row, SECRET is 256 random bits of which the
// store keeps only the SHA-256, compared in constant time. The store is the
// job history's database (SQLite or PostgreSQL, the same migrations), read on
// every request: a revocation holds at once on every master sharing it.

import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { SaltyError } from "../errors.ts";
import type { HistoryStore } from "../history/store.ts";
import type { Row } from "../history/db.ts";
import { checkName } from "./names.ts";

export interface TokenInfo {
  id: string;
  name: string;
  project: string;
  /** Absent: every deployment of the project. */
  deployment?: string;
  created: number;
  expires?: number;
  revoked?: number;
}

/** 401: the caller is nobody (unknown, bad, expired or revoked token). */
export class Unauthenticated extends SaltyError {
  constructor(message: string) {
    super(message, "E_UNAUTHENTICATED");
  }
}

/** 403: a valid token for another project or deployment. */
export class Forbidden extends SaltyError {
  constructor(message: string) {
    super(message, "E_FORBIDDEN");
  }
}

const TOKEN = /^salty_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

const sha256 = (text: string) => createHash("sha256").update(text).digest();

function info(r: Row): TokenInfo {
  const n = (v: unknown) => (v === null || v === undefined ? undefined : Number(v));
  const expires = n(r.expires_at),
    revoked = n(r.revoked_at);
  return {
    id: String(r.id),
    name: String(r.name),
    project: String(r.project),
    ...(r.deployment ? { deployment: String(r.deployment) } : {}),
    created: Number(r.created_at),
    ...(expires !== undefined ? { expires } : {}),
    ...(revoked !== undefined ? { revoked } : {}),
  };
}

/** The token's id, or undefined when it is not shaped like a token. */
export function tokenId(token: string): string | undefined {
  return TOKEN.exec(token)?.[1];
}

export class TokenStore {
  constructor(private readonly store: HistoryStore) {}

  /** A new token; its text is returned once and never stored. */
  async issue(opts: {
    project: string;
    deployment?: string;
    name?: string;
    expiresInMs?: number;
  }): Promise<{ token: string; info: TokenInfo }> {
    const project = checkName(opts.project, "project");
    const deployment =
      opts.deployment === undefined ? undefined : checkName(opts.deployment, "deployment");
    const id = randomBytes(6).toString("hex");
    const secret = randomBytes(32).toString("base64url");
    const created = Date.now();
    const expires = opts.expiresInMs === undefined ? undefined : created + opts.expiresInMs;
    await this.store.migrated();
    await this.store.db.run(
      `INSERT INTO deploy_tokens (id, name, project, deployment, hash, created_at, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)`,
      [
        id,
        opts.name ?? "",
        project,
        deployment ?? null,
        sha256(secret).toString("hex"),
        created,
        expires ?? null,
      ],
    );
    const [row] = await this.store.db.all(`SELECT * FROM deploy_tokens WHERE id = $1`, [id]);
    return { token: `salty_${id}_${secret}`, info: info(row!) };
  }

  async list(): Promise<TokenInfo[]> {
    await this.store.migrated();
    return (await this.store.db.all(`SELECT * FROM deploy_tokens ORDER BY created_at, id`)).map(
      info,
    );
  }

  async get(id: string): Promise<TokenInfo | undefined> {
    await this.store.migrated();
    const [row] = await this.store.db.all(`SELECT * FROM deploy_tokens WHERE id = $1`, [id]);
    return row ? info(row) : undefined;
  }

  /** Revoked from now on, on every master reading this store; false when there is no such token. */
  async revoke(id: string): Promise<boolean> {
    const t = await this.get(id);
    if (!t) return false;
    if (t.revoked === undefined)
      await this.store.db.run(`UPDATE deploy_tokens SET revoked_at = $1 WHERE id = $2`, [
        Date.now(),
        id,
      ]);
    return true;
  }

  /** The token's record, read now; Unauthenticated (401) unless it is known, its secret matches, and it is neither expired nor revoked. */
  async authenticate(token: string): Promise<TokenInfo> {
    const m = TOKEN.exec(token);
    if (!m) throw new Unauthenticated("not a salty deploy token");
    await this.store.migrated();
    const [row] = await this.store.db.all(`SELECT * FROM deploy_tokens WHERE id = $1`, [m[1]]);
    // Compared even for an unknown id, so that timing says nothing of which ids exist.
    const want = row ? Buffer.from(String(row.hash), "hex") : Buffer.alloc(32);
    const ok = timingSafeEqual(sha256(m[2]!), want.length === 32 ? want : Buffer.alloc(32));
    if (!row || !ok) throw new Unauthenticated("unknown token");
    const t = info(row);
    if (t.revoked !== undefined) throw new Unauthenticated(`token ${t.id} was revoked`);
    if (t.expires !== undefined && t.expires <= Date.now())
      throw new Unauthenticated(`token ${t.id} expired`);
    return t;
  }
}

/** Forbidden (403) unless the token is for this project and, when it names one, this deployment. */
export function authorize(t: TokenInfo, project: string, deployment?: string): void {
  if (t.project !== project)
    throw new Forbidden(`token ${t.id} is for project ${t.project}, not ${project}`);
  if (deployment !== undefined && t.deployment !== undefined && t.deployment !== deployment)
    throw new Forbidden(
      `token ${t.id} is for ${t.project}/${t.deployment}, not ${project}/${deployment}`,
    );
}
