// The package managers pkg() drives: for each, the read-only queries it plans
// with (installed set, newer versions), the parsers of their output, and the
// one command per call that installs, upgrades or removes a list. Pure: argv
// lists and text in, data out; no I/O (pkg.ts runs them through the probe).

export type Manager = "apt" | "dnf" | "yum" | "apk" | "brew";

export const MANAGERS: readonly Manager[] = ["apt", "dnf", "yum", "apk", "brew"];

/** Name -> installed version. */
export type Installed = Map<string, string>;

/** How long a package command may wait for another one's lock before it fails (seconds). */
export const LOCK_WAIT_S = 120;

export interface Backend {
  /** Lists every installed package: one probe, cached while `db` is unchanged. */
  list: string[];
  parseList(stdout: string): Installed;
  /** The file or directory that changes whenever a package is installed or removed. */
  db: string;
  /** Lists which of `names` have a newer version (state "latest"); rc 0 or 100 with the answer. */
  outdated(names: string[]): string[];
  parseOutdated(stdout: string, names: string[]): Map<string, string>;
  install(names: string[]): string[];
  upgrade(names: string[]): string[];
  remove(names: string[]): string[];
  env?: Record<string, string>;
  /** The metadata's age is the mtime of this; refreshed with `refresh` when older than `update`. */
  lists?: { path: string; refresh: string[] };
  /** What a held lock looks like in the command's output. */
  lockHeld?: RegExp;
}

const lines = (s: string) => s.split("\n").filter((l) => l.trim() !== "");

/** `${Package}\t${db:Status-Status}\t${Version}`: only "installed" counts (not config-files, half-installed). */
export function parseDpkgQuery(stdout: string): Installed {
  const out: Installed = new Map();
  for (const l of lines(stdout)) {
    const [name, status, version] = l.split("\t");
    if (name && status === "installed" && version) out.set(name, version);
  }
  return out;
}

/** `apt-cache policy a b`: each package's candidate, when newer than what is installed ("(none)": no such package). */
export function parseAptPolicy(stdout: string, names: string[]): Map<string, string> {
  const out = new Map<string, string>();
  let name: string | undefined;
  let installed = "";
  for (const l of stdout.split("\n")) {
    const head = /^(\S+):$/.exec(l);
    if (head) {
      name = head[1]!.replace(/:[a-z0-9]+$/, "");
      continue;
    }
    const inst = /^\s+Installed: (.+)$/.exec(l);
    if (inst) installed = inst[1]!.trim();
    const cand = /^\s+Candidate: (.+)$/.exec(l);
    if (cand && name && names.includes(name)) {
      const c = cand[1]!.trim();
      if (c !== "(none)" && c !== installed) out.set(name, c);
    }
  }
  return out;
}

/** `rpm -qa --qf '%{NAME}\t%{VERSION}-%{RELEASE}\n'`. */
export function parseRpmQuery(stdout: string): Installed {
  const out: Installed = new Map();
  for (const l of lines(stdout)) {
    const [name, version] = l.split("\t");
    if (name && version && name !== "gpg-pubkey") out.set(name, version);
  }
  return out;
}

/** `dnf -q list --upgrades a b`: "name.arch  version  repo" lines (a header line says "Available Upgrades"). */
export function parseDnfUpgrades(stdout: string, names: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of lines(stdout)) {
    const m = /^(\S+)\.[a-z0-9_]+\s+(\S+)\s+\S+/.exec(l);
    if (m && names.includes(m[1]!)) out.set(m[1]!, m[2]!);
  }
  return out;
}

/** `apk info -v`: "musl-1.2.5-r0" is musl at 1.2.5-r0. */
export function parseApkInfo(stdout: string): Installed {
  const out: Installed = new Map();
  for (const l of lines(stdout)) {
    const m = /^(.+)-([^-]+-r\d+)$/.exec(l.trim());
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

/** `apk version -l '<' a b`: "curl-8.9.0-r0 < 8.9.1-r0" lines. */
export function parseApkVersion(stdout: string, names: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of lines(stdout)) {
    const m = /^(.+)-[^-]+-r\d+\s+<\s+(\S+)/.exec(l.trim());
    if (m && names.includes(m[1]!)) out.set(m[1]!, m[2]!);
  }
  return out;
}

/** `brew list --versions`: "openssl@3 3.3.1 3.3.2" (several kegs: the last is the newest). */
export function parseBrewList(stdout: string): Installed {
  const out: Installed = new Map();
  for (const l of lines(stdout)) {
    const [name, ...versions] = l.trim().split(/\s+/);
    if (name && versions.length) out.set(name, versions[versions.length - 1]!);
  }
  return out;
}

/** `brew outdated --verbose a b`: "tree (2.1.0) < 2.1.1". */
export function parseBrewOutdated(stdout: string, names: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of lines(stdout)) {
    const m = /^(\S+) \(.*\) < (\S+)/.exec(l.trim());
    if (m && names.includes(m[1]!)) out.set(m[1]!, m[2]!);
  }
  return out;
}

const APT_OPTS = [
  "-y",
  "-q",
  "-o",
  `DPkg::Lock::Timeout=${LOCK_WAIT_S}`,
  "-o",
  "Dpkg::Options::=--force-confdef",
  "-o",
  "Dpkg::Options::=--force-confold",
];

function rpmBackend(cmd: "dnf" | "yum"): Backend {
  return {
    list: ["rpm", "-qa", "--qf", "%{NAME}\t%{VERSION}-%{RELEASE}\n"],
    parseList: parseRpmQuery,
    db: "/var/lib/rpm",
    outdated: (names) => [cmd, "-q", "list", "--upgrades", ...names],
    parseOutdated: parseDnfUpgrades,
    install: (names) => [cmd, "install", "-y", ...names],
    upgrade: (names) => [cmd, "upgrade", "-y", ...names],
    remove: (names) => [cmd, "remove", "-y", ...names],
  };
}

const BACKENDS: Record<Manager, Backend> = {
  apt: {
    list: ["dpkg-query", "-W", "-f", "${Package}\t${db:Status-Status}\t${Version}\n"],
    parseList: parseDpkgQuery,
    db: "/var/lib/dpkg/status",
    outdated: (names) => ["apt-cache", "policy", ...names],
    parseOutdated: parseAptPolicy,
    install: (names) => ["apt-get", "install", ...APT_OPTS, ...names],
    upgrade: (names) => ["apt-get", "install", "--only-upgrade", ...APT_OPTS, ...names],
    remove: (names) => ["apt-get", "remove", ...APT_OPTS, ...names],
    env: { DEBIAN_FRONTEND: "noninteractive", NEEDRESTART_MODE: "l" },
    lists: {
      path: "/var/lib/apt/lists",
      refresh: ["apt-get", "update", "-q", "-o", `DPkg::Lock::Timeout=${LOCK_WAIT_S}`],
    },
    lockHeld:
      /Could not get lock|Unable to acquire the dpkg frontend lock|dpkg frontend lock was locked/,
  },
  dnf: rpmBackend("dnf"),
  yum: rpmBackend("yum"),
  apk: {
    list: ["apk", "info", "-v"],
    parseList: parseApkInfo,
    db: "/lib/apk/db/installed",
    outdated: (names) => ["apk", "version", "-l", "<", ...names],
    parseOutdated: parseApkVersion,
    install: (names) => ["apk", "add", "--wait", String(LOCK_WAIT_S), ...names],
    upgrade: (names) => ["apk", "add", "-u", "--wait", String(LOCK_WAIT_S), ...names],
    remove: (names) => ["apk", "del", "--wait", String(LOCK_WAIT_S), ...names],
    lockHeld: /Unable to lock database/,
  },
  brew: {
    list: ["brew", "list", "--versions"],
    parseList: parseBrewList,
    db: "/opt/homebrew/Cellar",
    outdated: (names) => ["brew", "outdated", "--verbose", ...names],
    parseOutdated: parseBrewOutdated,
    install: (names) => ["brew", "install", ...names],
    upgrade: (names) => ["brew", "upgrade", ...names],
    remove: (names) => ["brew", "uninstall", ...names],
    env: { HOMEBREW_NO_AUTO_UPDATE: "1", HOMEBREW_NO_INSTALL_CLEANUP: "1" },
  },
};

export function backend(m: Manager): Backend {
  return BACKENDS[m];
}

/** Homebrew refuses root: its commands run as the owner of its prefix (`sudo -u OWNER -H`). */
export function asUser(argv: string[], user: string | undefined): string[] {
  return user ? ["sudo", "-u", user, "-H", "--", ...argv] : argv;
}

export type PkgState = "present" | "latest" | "absent";

export interface PkgPlanInput {
  names: string[];
  state: PkgState;
  installed: Installed;
  /** For "latest": the installed ones with a newer version, and that version. */
  newer?: Map<string, string>;
}

export interface PkgDecision {
  install: string[];
  upgrade: Array<[name: string, from: string, to: string]>;
  remove: Array<[name: string, version: string]>;
}

/** What one call must do, from the installed set. */
export function decide(i: PkgPlanInput): PkgDecision {
  if (i.state === "absent")
    return {
      install: [],
      upgrade: [],
      remove: i.names.filter((n) => i.installed.has(n)).map((n) => [n, i.installed.get(n)!]),
    };
  const install = i.names.filter((n) => !i.installed.has(n));
  const upgrade: PkgDecision["upgrade"] =
    i.state === "latest"
      ? i.names
          .filter((n) => i.installed.has(n) && i.newer?.has(n))
          .map((n) => [n, i.installed.get(n)!, i.newer!.get(n)!])
      : [];
  return { install, upgrade, remove: [] };
}

/** "1h", "30m", "2d", "90s" or seconds -> milliseconds; false: never refresh. */
export function parseAge(v: unknown): number | false {
  if (v === false) return false;
  if (typeof v === "number" && v >= 0) return v * 1000;
  const m = typeof v === "string" ? /^(\d+)\s*([smhd])$/.exec(v.trim()) : null;
  if (!m)
    throw new Error(
      `update must be false, a number of seconds or "30m", "1h", "1d": ${JSON.stringify(v)}`,
    );
  return Number(m[1]) * { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[m[2] as "s" | "m" | "h" | "d"];
}
