// The client's side of the deploy API: the upload (the bundle file streamed
// as the body), the SSE events read as they come, and a resume from the last
// event seen (GET /v1/deploys/ID/events, Last-Event-ID) when the stream is cut
// before the deploy's end. TLS trust: the system's CAs, --ca FILE, or
// --fingerprint (the SHA-256 of the master's certificate).

import { readFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { SaltyError } from "../errors.ts";

export interface ServerOptions {
  server: string;
  token: string;
  ca?: string;
  fingerprint?: string;
}

export interface SseEvent {
  id: number;
  event: string;
  data: Record<string, unknown>;
}

/**
 * --fingerprint: the master's certificate is read once over a TLS connection that checks nothing, compared
 * with the fingerprint, and then used as the only CA of the real request: that request trusts exactly the
 * certificate whose fingerprint was given (a self-signed master's), whatever answers it.
 */
async function pinned(server: URL, fingerprint: string): Promise<string> {
  const want = fingerprint
    .replace(/^sha256:/i, "")
    .replace(/:/g, "")
    .toLowerCase();
  const pem = await new Promise<string>((resolve, reject) => {
    const sock = tlsConnect(
      {
        host: server.hostname.replace(/^\[|\]$/g, ""),
        port: Number(server.port || 443),
        rejectUnauthorized: false,
        servername: isIP(server.hostname) ? undefined : server.hostname,
      },
      () => {
        const raw = sock.getPeerCertificate(false)?.raw;
        sock.end();
        if (!raw) return reject(new Error("the master sent no certificate"));
        resolve(
          `-----BEGIN CERTIFICATE-----\n${Buffer.from(raw)
            .toString("base64")
            .replace(/(.{64})/g, "$1\n")}\n-----END CERTIFICATE-----\n`,
        );
      },
    );
    sock.on("error", reject);
  });
  const got = new X509Certificate(pem).fingerprint256.replace(/:/g, "").toLowerCase();
  if (got !== want)
    throw new SaltyError(
      `the master's certificate has the fingerprint ${got}, not ${want}: refused`,
      "E_TRUST",
    );
  return pem;
}

async function tlsOf(o: ServerOptions, url: URL): Promise<Record<string, unknown> | undefined> {
  if (url.protocol !== "https:") return undefined;
  if (o.ca) return { ca: readFileSync(o.ca, "utf8") };
  if (o.fingerprint) return { ca: await pinned(url, o.fingerprint) };
  return undefined;
}

export async function request(
  o: ServerOptions,
  path: string,
  init: RequestInit = {},
): Promise<Response> {
  const url = new URL(path, o.server.endsWith("/") ? o.server : `${o.server}/`);
  let res: Response;
  try {
    const tls = await tlsOf(o, url);
    res = await fetch(url, {
      ...init,
      headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${o.token}` },
      ...(tls ? { tls } : {}),
    } as RequestInit);
  } catch (err) {
    if (err instanceof SaltyError) throw err;
    throw new SaltyError(`cannot reach ${url.origin}: ${(err as Error).message}`, "E_CONNECT");
  }
  if (!res.ok) {
    const body = await res.text().catch(() => "");
    let msg = body.trim();
    try {
      msg = String((JSON.parse(body) as { error?: unknown }).error ?? msg);
    } catch {
      /* not JSON */
    }
    throw new SaltyError(
      `${res.status} ${res.statusText || ""}`.trim() + `: ${msg}`,
      res.status === 401 || res.status === 403 ? "E_DENIED" : "E_HTTP",
    );
  }
  return res;
}

/** The events of an SSE body, as they arrive. */
export async function* events(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const dec = new TextDecoder();
  let buf = "";
  for await (const chunk of body) {
    buf += dec.decode(chunk, { stream: true });
    let end: number;
    while ((end = buf.indexOf("\n\n")) !== -1) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      let id = 0,
        event = "message",
        data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("id: ")) id = Number(line.slice(4));
        else if (line.startsWith("event: ")) event = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      if (data) yield { id, event, data: JSON.parse(data) as Record<string, unknown> };
    }
  }
}

/** Whether the deploy is over after this event. */
export function isLast(e: SseEvent, apply: boolean): boolean {
  return e.event === "error" || e.event === "apply-end" || (!apply && e.event === "release-live");
}

/**
 * Follow a deploy's stream from `res`; when it is cut before its last event, resume from the last id
 * seen (at most 5 times). `on` gets each event once.
 */
export async function follow(
  o: ServerOptions,
  res: Response,
  apply: boolean,
  on: (e: SseEvent) => void,
): Promise<void> {
  const id = res.headers.get("x-deploy-id");
  let last = 0;
  let body = res.body;
  for (let tries = 0; ; tries++) {
    if (body) {
      try {
        for await (const e of events(body)) {
          if (e.id <= last) continue;
          last = e.id;
          on(e);
          if (isLast(e, apply)) return;
        }
      } catch {
        /* cut: resumed below */
      }
    }
    if (!id || tries >= 5)
      throw new SaltyError(
        `the event stream ended before the deploy did${id ? ` (see GET /v1/deploys/${id}/events)` : ""}`,
        "E_CONN_LOST",
      );
    await Bun.sleep(200 * (tries + 1));
    body =
      (
        await request(o, `v1/deploys/${encodeURIComponent(id)}/events`, {
          headers: { "last-event-id": String(last) },
        }).catch(() => undefined)
      )?.body ?? null;
  }
}

/** One line per event, as `salty deploy` prints it. */
export function eventLine(e: SseEvent): string {
  const d = e.data;
  const short = (v: unknown) => String(v ?? "").slice(0, 12);
  switch (e.event) {
    case "bundle-received":
      return `bundle received: ${d.bytes} bytes, release ${short(d.release)}`;
    case "release-live":
      return `release ${short(d.release)} live${d.previous ? ` (was ${short(d.previous)})` : ""}`;
    case "apply-start":
      return `apply: ${(d.hosts as string[]).length ? (d.hosts as string[]).join(", ") : "no host selected by top.ts"}`;
    case "host-result": {
      const failures = Array.isArray(d.failures) ? `: ${(d.failures as string[]).join("; ")}` : "";
      const ok = d.status === "ran" && d.errors === 0;
      const same = d.unchanged
        ? `, ${d.unchanged} role${d.unchanged === 1 ? "" : "s"} unchanged, not run`
        : "";
      return `${d.host}: ${ok ? "ok" : d.status === "ran" ? "FAILED" : String(d.status).toUpperCase()} (${d.changed} changed, ${d.errors} errors${same})${failures}`;
    }
    case "apply-end":
      return `apply done: ${d.hosts} hosts, ${d.failed} failed${Array.isArray(d.neverAttempted) ? `, never attempted: ${(d.neverAttempted as string[]).join(", ")}` : ""}`;
    case "batch-start":
      return `batch ${d.batch}/${d.of}: ${(d.hosts as string[]).join(", ")}`;
    case "batch-end":
      return `batch ${d.batch}/${d.of} done${(d.failed as string[]).length ? `, failed: ${(d.failed as string[]).join(", ")}` : ""}${d.stopped ? ` (${d.stopped})` : ""}`;
    case "error":
      return `error: ${d.message}`;
    default:
      return `${e.event}: ${JSON.stringify(d)}`;
  }
}
