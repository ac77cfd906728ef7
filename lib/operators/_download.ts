// Carrying out a `download` change (apply.ts): the response body streamed into
// the temporary file beside the destination and hashed on the way; a status
// other than 2xx, a body shorter than its Content-Length, a cut connection or
// a hash other than the one asked for throws before the rename, so the
// destination keeps what it had. Bytes received are counted like the master's.

import { SaltyError } from "../errors.ts";
import { writeAtomic } from "./_write.ts";
import { plainUrl } from "./download.ts";
import type { Change, OpCtx } from "./types.ts";

type DownloadChange = Extract<Change, { kind: "download" }>;

/** Download `c.url` into `real`; returns the content's SHA-256. */
export async function downloadTo(ctx: OpCtx, c: DownloadChange, real: string): Promise<string> {
  const shown = plainUrl(c.url);
  let got = "";
  await writeAtomic(ctx, real, { mode: c.mode, owner: { uid: c.uid, gid: c.gid } }, async (h) => {
    let res: Response;
    try {
      res = await fetch(c.url, {
        redirect: "follow",
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });
    } catch (err) {
      throw new SaltyError(`cannot fetch ${shown}: ${(err as Error).message}`, "E_DOWNLOAD");
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel().catch(() => {});
      throw new SaltyError(
        `${shown}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}; ${c.path} left as it was`,
        "E_DOWNLOAD",
      );
    }
    const hasher = new Bun.CryptoHasher("sha256");
    let size = 0;
    try {
      for await (const chunk of res.body) {
        hasher.update(chunk);
        await h.write(chunk);
        size += chunk.length;
      }
    } catch (err) {
      throw new SaltyError(
        `${shown}: the transfer broke after ${size} bytes (${(err as Error).message}); ${c.path} left as it was`,
        "E_DOWNLOAD",
      );
    }
    const length = res.headers.get("content-length");
    if (length !== null && !res.headers.get("content-encoding") && Number(length) !== size) {
      throw new SaltyError(
        `${shown}: got ${size} of ${length} bytes; ${c.path} left as it was`,
        "E_DOWNLOAD",
      );
    }
    ctx.runtime.received(size);
    got = hasher.digest("hex");
    if (c.sha256 && got !== c.sha256)
      throw new SaltyError(
        `${shown}: sha256 is ${got}, expected ${c.sha256}; ${c.path} left as it was`,
        "E_CHECKSUM",
      );
  });
  return got;
}
