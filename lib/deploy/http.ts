// The master's small HTTP API for CI (Bun.serve; TLS unless on loopback):
//   POST /v1/deploy/PROJECT/DEPLOYMENT[?apply=0]          body: the tar bundle → SSE
//   POST /v1/deploy/PROJECT/DEPLOYMENT/rollback[?to=ID&apply=0]            → SSE
//   GET  /v1/deploys/ID/events   (Last-Event-ID resumes)                   → SSE
//   GET  /v1/releases/PROJECT[/DEPLOYMENT]                                 → JSON
// Every request carries `Authorization: Bearer TOKEN`, read against the token
// store at each request: unknown, bad, expired or revoked 401; another
// project or deployment 403. Nothing else is served: no apply, run or keys.

import { SaltyError, errorMessage } from "../errors.ts";
import { log } from "../log.ts";
import { checkName } from "./names.ts";
import {
  Forbidden,
  Unauthenticated,
  authorize,
  type TokenInfo,
  type TokenStore,
} from "./tokens.ts";
import { sse, type DeployLog } from "./events.ts";
import type { ApplyWords, DeployService } from "./service.ts";
import { ROLLOUT_KEYS } from "../inventory/rollout.ts";
import { parseApplyArgs } from "../inventory/args.ts";
import type { Releases } from "./releases.ts";

export interface HttpOptions {
  host: string;
  port: number;
  tls?: { cert: string; key: string };
  tokens: TokenStore;
  service: DeployService;
  releases: Releases;
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body) + "\n", {
    status,
    headers: { "content-type": "application/json" },
  });

function statusOf(err: unknown): number {
  if (err instanceof Unauthenticated) return 401;
  if (err instanceof Forbidden) return 403;
  if (err instanceof SaltyError && err.code === "E_NOT_FOUND") return 404;
  if (err instanceof SaltyError && (err.code === "E_USAGE" || err.code === "E_PARAMS")) return 400;
  if (err instanceof SaltyError) return 400;
  return 500;
}

/** The events of `log` after `after`, as an SSE response; a comment every 5 s keeps proxies from closing it. */
function stream(log: DeployLog, after: number): Response {
  const enc = new TextEncoder();
  let timer: ReturnType<typeof setInterval> | undefined;
  const body = new ReadableStream<Uint8Array>({
    async start(ctl) {
      ctl.enqueue(enc.encode(`: deploy ${log.id}\n\n`));
      timer = setInterval(() => {
        try {
          ctl.enqueue(enc.encode(": keep-alive\n\n"));
        } catch {
          clearInterval(timer);
        }
      }, 5000);
      try {
        for await (const e of log.from(after)) ctl.enqueue(enc.encode(sse(e)));
        ctl.close();
      } catch {
        /* the client went away: the deploy goes on, its log stays readable */
      } finally {
        clearInterval(timer);
      }
    },
    cancel() {
      clearInterval(timer);
    },
  });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream",
      "cache-control": "no-store",
      "x-deploy-id": log.id,
    },
  });
}

/** `?apply=0`: no apply; else the rollout words given as parameters (`?batch=2&max_fail=1&gate=...`), checked now (400), and `?force=1` (roles whose inputs did not change run too). */
function applyWords(url: URL): ApplyWords {
  if (url.searchParams.get("apply") === "0") return false;
  const words = ROLLOUT_KEYS.flatMap((k) => url.searchParams.getAll(k).map((v) => `${k}=${v}`));
  parseApplyArgs(words);
  return { words, force: url.searchParams.get("force") === "1" };
}

export function serveHttp(opts: HttpOptions): { port: number; close(): Promise<void> } {
  const auth = async (req: Request): Promise<TokenInfo> => {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.get("authorization") ?? "");
    if (!m) throw new Unauthenticated("an Authorization: Bearer TOKEN header is required");
    return opts.tokens.authenticate(m[1]!);
  };
  const handle = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    let parts: string[];
    try {
      parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    } catch {
      return json(400, { error: "malformed path" });
    }
    if (parts[0] !== "v1") return json(404, { error: "not found" });
    if (
      parts[1] === "deploy" &&
      (parts.length === 4 || (parts.length === 5 && parts[4] === "rollback"))
    ) {
      if (req.method !== "POST") return json(405, { error: "POST only" });
      const token = await auth(req);
      const project = checkName(parts[2], "project"),
        deployment = checkName(parts[3], "deployment");
      authorize(token, project, deployment);
      const apply = applyWords(url);
      if (parts.length === 5)
        return stream(
          opts.service.rollback(
            project,
            deployment,
            token,
            url.searchParams.get("to") ?? undefined,
            apply,
          ),
          0,
        );
      if (!req.body) return json(400, { error: "the tar bundle is the request's body" });
      return stream(opts.service.deploy(project, deployment, token, req.body, apply), 0);
    }
    if (parts[1] === "deploys" && parts.length === 4 && parts[3] === "events") {
      if (req.method !== "GET") return json(405, { error: "GET only" });
      const token = await auth(req);
      const dlog = opts.service.logs.get(parts[2]!);
      if (!dlog)
        return json(404, {
          error: `no deploy ${parts[2]} on this master (only recent ones are kept)`,
        });
      authorize(token, dlog.project, dlog.deployment);
      const last = Number(req.headers.get("last-event-id") ?? url.searchParams.get("after") ?? 0);
      return stream(dlog, Number.isSafeInteger(last) && last > 0 ? last : 0);
    }
    if (parts[1] === "releases" && (parts.length === 3 || parts.length === 4)) {
      if (req.method !== "GET") return json(405, { error: "GET only" });
      const token = await auth(req);
      const project = checkName(parts[2], "project");
      const deployment = parts[3] === undefined ? undefined : checkName(parts[3], "deployment");
      authorize(token, project, deployment);
      const names = deployment
        ? [deployment]
        : (await opts.releases.deployments(project)).filter(
            (d) => token.deployment === undefined || d === token.deployment,
          );
      const out: Record<string, unknown> = {};
      for (const d of names) out[d] = await opts.releases.list(project, d);
      return json(200, out);
    }
    return json(404, { error: "not found" });
  };
  const server = Bun.serve({
    hostname: opts.host,
    port: opts.port,
    // Bundles are limited by --deploy-max-bytes while they stream in, not here.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    idleTimeout: 60,
    ...(opts.tls ? { tls: { cert: Bun.file(opts.tls.cert), key: Bun.file(opts.tls.key) } } : {}),
    async fetch(req) {
      try {
        return await handle(req);
      } catch (err) {
        const status = statusOf(err);
        if (status >= 500) log("http.error", { url: req.url, error: errorMessage(err) });
        return json(status, { error: errorMessage(err) });
      }
    },
  });
  return { port: server.port ?? opts.port, close: async () => void (await server.stop(true)) };
}
