// Under --path PREFIX every write lands under the prefix: a symlink among a
// destination's parents (made by hand, or by an earlier symlink() of a role)
// must not carry a write out of it. Before a change is applied, the directory
// that will hold it is resolved (realpath, or that of its nearest existing
// ancestor) and must lie under the prefix's real path; for chmod and utime,
// which follow a symlink, the path itself too. Only when a change is applied,
// never on the no-change path, and each directory once per plan.

import { realpath } from "node:fs/promises";
import { posix } from "node:path";
import { SaltyError } from "../errors.ts";
import { isMissing } from "../sys/walk.ts";

function within(dir: string, p: string): boolean {
  return p === dir || p.startsWith(dir.endsWith("/") ? dir : `${dir}/`);
}

export class Confinement {
  private checked = new Map<string, Promise<void>>();
  private root: Promise<string> | undefined;

  constructor(private readonly prefix: string) {}

  /** Throws E_PATH_ESCAPE when writing `real` (the role's `path` under the prefix) would leave the prefix. */
  check(path: string, real: string, opts: { self?: boolean } = {}): Promise<void> {
    const at = opts.self ? real : posix.dirname(real);
    let done = this.checked.get(at);
    if (!done) {
      done = this.resolve(path, at);
      this.checked.set(at, done);
      done.catch(() => this.checked.delete(at));
    }
    return done;
  }

  /** A symlink was just made: what was checked may lead elsewhere now. */
  forget(): void {
    this.checked.clear();
  }

  private async resolve(path: string, at: string): Promise<void> {
    const root = await (this.root ??= realpath(this.prefix));
    for (let p = at; ; p = posix.dirname(p)) {
      let real: string;
      try {
        real = await realpath(p);
      } catch (err) {
        if (isMissing(err) && p !== "/") continue; // not made yet: its nearest existing ancestor decides
        throw err;
      }
      if (within(root, real)) return;
      throw new SaltyError(
        `refusing to write ${path}: a symlink on the way leads out of --path ${this.prefix} (to ${real})`,
        "E_PATH_ESCAPE",
      );
    }
  }
}
