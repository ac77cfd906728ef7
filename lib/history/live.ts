// The jobs running now on this master, for `salty jobs follow`: a client
// that attaches gets the job's progress as the applying client does, and its
// record the moment it ends. In memory only; a job that ended is in the store.

import type { ApplyProgress } from "../wire/api.ts";
import type { JobRecord } from "./types.ts";

type Follower = (p: ApplyProgress) => void;

interface Live {
  followers: Set<Follower>;
  done: Promise<JobRecord>;
  settle(job: JobRecord): void;
}

export class LiveJobs {
  private jobs = new Map<string, Live>();

  begin(id: string): void {
    let settle!: (job: JobRecord) => void;
    const done = new Promise<JobRecord>((r) => (settle = r));
    this.jobs.set(id, { followers: new Set(), done, settle });
  }

  progress(id: string, p: ApplyProgress): void {
    for (const f of this.jobs.get(id)?.followers ?? []) f(p);
  }

  end(job: JobRecord): void {
    this.jobs.get(job.id)?.settle(job);
    this.jobs.delete(job.id);
  }

  /** The job's record when it ends, `onProgress` meanwhile; undefined when it is not running here. */
  follow(id: string, onProgress: Follower): Promise<JobRecord> | undefined {
    const live = this.jobs.get(id);
    if (!live) return undefined;
    live.followers.add(onProgress);
    return live.done.finally(() => live.followers.delete(onProgress));
  }
}
