// A Debian root booted with `systemd-nspawn --boot` for the benchmark (its W1
// packages variant measures service() against a real systemd and pkg() against
// that root's own dpkg database). The root is the cached debootstrap root of
// scripts/systemd-host-test.sh (scripts/_debian-root.sh's cached_root; built
// once when missing), booted with a directory of the bench's own files over it
// (overlayfs, mounted in a mount namespace of the container's: the cache stays
// pristine, nothing is copied, nothing stays mounted). nspawn runs as PID 1 of
// a PID namespace of its own (unshare --kill-child): killing that unshare
// takes the whole container down, even when nspawn could not power it off (a
// SIGKILLed nspawn leaves its container running). Bench-only.

import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { daemon, stop, stopAtExit } from "./_procs.ts";

const repo = resolve(import.meta.dir, "../..");

/** Why a container cannot be booted here (undefined: it can be tried). */
export function nspawnUnavailable(): string | undefined {
  if (process.env.SALTY_BENCH_NSPAWN === "0") return "SALTY_BENCH_NSPAWN=0";
  if (process.platform !== "linux") return "not Linux";
  if (process.getuid?.() !== 0) return "not root";
  if (!Bun.which("systemd-nspawn")) return "no systemd-nspawn (apt-get install systemd-container)";
  if (!Bun.which("unshare")) return "no unshare";
  return undefined;
}

/** The cached Debian root with systemd (built by debootstrap the first time: minutes, and Debian's mirror). */
export function debianRoot(): string {
  const p = Bun.spawnSync(
    [
      "bash",
      "-c",
      'set -euo pipefail; source "$1/scripts/_debian-root.sh"; cached_root systemd lib/systemd/systemd systemd,systemd-sysv,dbus',
      "bash",
      repo,
    ],
    {
      env: {
        ...process.env,
        LABEL: "bench",
        STARTED: "0",
        CACHE: process.env.SALTY_FRESH_HOST_CACHE ?? "/var/tmp/salty-fresh-host",
        SUITE: process.env.SALTY_DEBIAN_SUITE ?? "bookworm",
      },
      // What it does (a debootstrap of minutes the first time) and why it failed, as it says it.
      stderr: "inherit",
    },
  );
  const root = p.stdout.toString().trim();
  if (p.exitCode !== 0 || !existsSync(join(root, "lib/systemd/systemd")))
    throw new Error(
      `no Debian root with systemd (scripts/_debian-root.sh's cached_root: exit ${p.exitCode})`,
    );
  return root;
}

/** Installed packages of a dpkg database (its status file), in its order. */
export function dpkgInstalled(status: string): string[] {
  return readFileSync(status, "utf8")
    .split(/\n\n+/)
    .filter((s) => /^Status: install ok installed$/m.test(s))
    .map((s) => /^Package: (\S+)$/m.exec(s)?.[1])
    .filter((p): p is string => !!p);
}

const alive = (pid: number) => {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};
const childOf = (pid: number): number | undefined => {
  try {
    const first = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(" ")[0];
    return first ? Number(first) : undefined;
  } catch {
    return undefined;
  }
};

export class Machine {
  private stopped?: Promise<void>;
  private constructor(private readonly p: Subprocess) {}

  /**
   * Boots `lower` with the files of `upper` over it (what the container writes
   * lands in `upper` too), with the host's network: 127.0.0.1 is the host's.
   * The container's output in `log`.
   */
  static boot(lower: string, upper: string, log: string): Machine {
    const [work, root] = [`${upper}.work`, `${upper}.root`];
    for (const d of [upper, work, root]) mkdirSync(d, { recursive: true });
    const p = daemon(
      [
        "unshare",
        "--mount",
        "--pid",
        "--fork",
        "--kill-child",
        "--",
        "sh",
        "-c",
        'mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3" "$4" && exec systemd-nspawn --boot --quiet --register=no --keep-unit --console=passive -D "$4"',
        "sh",
        lower,
        upper,
        work,
        root,
      ],
      log,
    );
    const m = new Machine(p);
    stopAtExit(() => m.stop());
    return m;
  }

  get exited(): boolean {
    return this.p.exitCode !== null || this.p.signalCode !== null;
  }

  /** The container's systemd, as the host sees it (undefined until booted). */
  init(): number | undefined {
    const nspawn = childOf(this.p.pid);
    return nspawn === undefined ? undefined : childOf(nspawn);
  }

  /**
   * nspawn powers the container off in order on TERM (up to 30 s); then the
   * unshare is KILLed, which ends whatever is left of the container.
   */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      const nspawn = childOf(this.p.pid);
      if (nspawn !== undefined) {
        try {
          process.kill(nspawn, "SIGTERM");
        } catch {}
        for (let i = 0; i < 150 && alive(nspawn); i++) await Bun.sleep(200);
      }
      if (!this.exited) this.p.kill("SIGKILL");
      await stop(this.p);
    })();
    return this.stopped;
  }
}
