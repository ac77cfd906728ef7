// One `salty pull` at a time per clone: a timer and a push's hook may start
// one each at the same moment. The lock file holds the holder's pid; a lock
// whose holder is gone (killed) is taken over.

import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { SaltyError } from "../errors.ts";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function holdLock(path: string): Disposable {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx", 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return { [Symbol.dispose]: () => rmSync(path, { force: true }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const pid = Number(readFileSync(path, "utf8").trim());
      if (pid > 0 && pid !== process.pid && alive(pid))
        throw new SaltyError(`another salty pull is running (pid ${pid}, ${path})`, "E_PULL_BUSY");
      rmSync(path, { force: true });
    }
  }
  throw new SaltyError(`cannot take the lock ${path}`, "E_PULL_BUSY");
}
