// Where job records wait while the database is down or full: one file per
// job in KEYROOT/history-spool, named by its id (so the newest state of a job
// replaces the older one, and replay goes in the order the jobs started),
// written atomically (a temporary name, then rename). At most `max` files:
// past it the oldest go, so a long outage cannot fill the disk.

import { mkdir, readdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { JobRecord } from "./types.ts";
import { JOB_ID } from "./job-id.ts";

export class Spool {
  constructor(
    readonly dir: string,
    private max: number,
  ) {}

  async write(job: JobRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const path = join(this.dir, `${job.id}.json`);
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(job), { mode: 0o600 });
    await rename(tmp, path);
  }

  /** The spooled job ids, oldest first (the oldest past `max` removed). */
  async ids(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const ids = names
      .filter((n) => n.endsWith(".json"))
      .map((n) => n.slice(0, -5))
      .filter((id) => JOB_ID.test(id))
      .sort();
    const over = ids.length - this.max;
    for (const id of ids.slice(0, Math.max(0, over))) await this.remove(id);
    return over > 0 ? ids.slice(over) : ids;
  }

  async read(id: string): Promise<JobRecord | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dir, `${id}.json`), "utf8")) as JobRecord;
    } catch {
      await this.remove(id); // a torn or foreign file would block the replay forever
      return undefined;
    }
  }

  async remove(id: string): Promise<void> {
    await unlink(join(this.dir, `${id}.json`)).catch(() => {});
  }
}
