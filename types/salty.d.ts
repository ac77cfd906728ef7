// The role-facing API of salty: what roles, templates and the inventory see.
// This file is the single source of these types: lib/ imports them, and
// `salty init` writes it verbatim into a new fileroot so editors complete and
// type-check roles with nothing installed. It must stay self-contained (no imports).

declare module "salty" {
  /** What every operator returns and records in the role's results. */
  export interface Result {
    /** A readable call, e.g. `copy(nginx/mime.types, /opt/w/etc/mime.types)`. */
    cmd: string;
    /** 0 on success, non-zero on failure. */
    rc: number;
    changed: boolean;
    /** The destination did not exist before. */
    created?: boolean;
    /** Seconds. */
    elapsed: number;
    output?: string;
    error?: string;
    /** Unified diff of a changed text file (with `--diff`). */
    diff?: string;
    /** Counts for operators that touch many files (syncdir): files and symlinks added, updated
     * and removed; `fixed` entries whose mode, owner or time only was fixed, and directories
     * added and removed (these three only when not 0). */
    changes?: {
      added: number;
      updated: number;
      removed: number;
      fixed?: number;
      dirsAdded?: number;
      dirsRemoved?: number;
    };
  }

  /** Every operator takes it (as its last argument). */
  export interface SensitiveOpts {
    /** Hide this call's output, diff and error detail from reports and logs (Ansible's `no_log`);
     * the role itself still gets the whole Result. */
    sensitive?: boolean;
  }

  export interface OwnerOpts extends NotifyOpt, SensitiveOpts {
    /** Owner; defaults to the agent's user. */
    user?: string;
    /** Group; defaults to the user's primary group. */
    group?: string;
    /** File mode, e.g. 0o644. */
    mode?: number;
  }

  /** `validate` on operators that write a file (copy, render, file, lineInFile). */
  export interface ValidateOpt {
    /** A command line run on the new content before it replaces the file, `%s` standing for the
     * temporary file that holds it (%% for a literal %; split into words, quotes honoured, no shell): "nginx -t -c %s",
     * "visudo -cf %s". Only on rc 0 is the file replaced; else the old file stays and the call fails
     * (rc 1) with the command's output. */
    validate?: string;
  }

  export interface LineOpts extends OwnerOpts, ValidateOpt {
    /** Replace the first whole line equal to this (when `line` is not there yet). */
    replace?: string;
    /** A regular expression: the last line matching it is replaced by `line` (with `state: "absent"`: every matching line is removed). */
    regexp?: string;
    /** "present" (default): the line is there; "absent": no line equal to `line` (or matching `regexp`) is. */
    state?: "present" | "absent";
    /** A new line goes after the last line matching this regular expression ("EOF": at the end, the default); no match: at the end. */
    insertAfter?: string;
    /** A new line goes before the last line matching this regular expression ("BOF": at the beginning); no match: at the end. */
    insertBefore?: string;
  }

  export interface FileOpts extends OwnerOpts, ValidateOpt {
    /** The file's whole content (text). */
    content: string;
  }

  export interface GitOpts extends NotifyOpt, SensitiveOpts {
    /** A branch, a tag or a full 40-hex commit hash; default "HEAD" (the remote's default branch). */
    rev?: string;
    /** Fetch only the last `depth` commits (a shallow checkout). */
    depth?: number;
    /** Run git as this user (the checkout is theirs); default the agent's user. */
    user?: string;
  }

  export interface DownloadOpts extends OwnerOpts {
    /** The SHA-256 (hex) the file must have: a destination that already has it is not fetched;
     * a download that does not have it is refused (rc 1, the destination untouched). */
    sha256?: string;
  }

  export interface UnarchiveOpts extends NotifyOpt, SensitiveOpts {
    /** The SHA-256 (hex) the archive must have; refused (rc 1, nothing extracted) when it differs. */
    sha256?: string;
  }

  export interface ReleaseOpts extends NotifyOpt, SensitiveOpts {
    /** How many releases to keep under dir/releases (the newest, by time made; the current one always); default 5. */
    keep?: number;
  }

  export interface UserOpts extends NotifyOpt, SensitiveOpts {
    /** "present" (default) or "absent" (userdel; the home directory is kept). */
    state?: "present" | "absent";
    uid?: number;
    /** The primary group (it must exist); by default a group named like the user, made with it. */
    group?: string;
    /** Exactly these supplementary groups (each must exist). */
    groups?: string[];
    home?: string;
    shell?: string;
    /** The GECOS field (full name). */
    comment?: string;
    /** A system account (a low uid; no home directory made by default). Only when the user is made. */
    system?: boolean;
    /** A crypt hash ($6$..., $y$...: `mkpasswd -m sha-512`), compared with /etc/shadow and set with
     * `chpasswd -e` (never on a command line, never shown); "!" locks. Not on macOS. */
    password?: string;
    /** Make the home directory when the user is made (default: not for system users). */
    createHome?: boolean;
  }

  export interface GroupOpts extends NotifyOpt, SensitiveOpts {
    /** "present" (default) or "absent". */
    state?: "present" | "absent";
    gid?: number;
    /** A system group (a low gid). Only when the group is made. */
    system?: boolean;
    /** Exactly these users are its members (each must exist); left as they are when absent. */
    members?: string[];
  }

  export interface AuthorizedKeysOpts extends NotifyOpt, SensitiveOpts {
    /** The file holds exactly these keys (others are removed); by default missing keys are added and the rest kept. */
    exclusive?: boolean;
  }

  export interface CronOpts extends NotifyOpt, SensitiveOpts {
    /** Five fields, "minute hour day-of-month month day-of-week" ("30 2 * * 1-5"), or "@daily", "@reboot", ... */
    schedule?: string;
    /** One line, run by /bin/sh; a literal % must be written \% (cron makes % a newline). */
    command?: string;
    /** The user it runs as (default "root"). */
    user?: string;
    /** "present" (default) or "absent" (the file is removed). */
    state?: "present" | "absent";
  }

  export interface ShellOpts extends NotifyOpt, SensitiveOpts {
    cwd?: string;
    env?: Record<string, string>;
    /** Seconds before the process group is killed. */
    timeout?: number;
    /** Not run when this path exists (a destination path: under `--path` like every operator's). */
    creates?: string;
    /** Not run when this path does not exist. */
    removes?: string;
    /** Not run when this read-only command succeeds (rc 0); checked while planning, dry runs included
     * (a command line for /bin/sh, or an argv; with `cwd` and `timeout`, not `env`, in the C locale). */
    unless?: string | string[];
    /** Run only when this read-only command succeeds; checked while planning, dry runs included. */
    onlyIf?: string | string[];
    /** `false`: running it is never a change (a check, a query); a function decides from its result. */
    changed?: false | ((r: { rc: number; output: string }) => boolean);
  }

  export interface SyncdirOpts extends OwnerOpts {
    /** Paths or globs relative to `src` that are neither sent nor deleted. */
    exclude?: string[];
    /** Delete files in `dst` that are not in `src` (default true). */
    delete?: boolean;
  }

  export interface PkgOpts extends NotifyOpt, SensitiveOpts {
    /** "present" (default): installed, any version; "latest": the newest the package manager offers; "absent": removed. */
    state?: "present" | "latest" | "absent";
    /** Refresh the package lists (apt-get update) before installing when they are older than this: "1h" (default), "30m", "1d", seconds, or false. */
    update?: string | number | false;
    /** The package manager; by default the host's `facts.pkg_manager`. */
    manager?: "apt" | "dnf" | "yum" | "apk" | "brew";
  }

  /** A handler: "SERVICE:reload" or "SERVICE:restart". */
  export type Handler = `${string}:${"reload" | "restart"}`;

  /** `notify` on an operator's options: queue these handlers when (and only when) the call changed something. */
  export interface NotifyOpt {
    notify?: Handler | Handler[];
    /** Run the handlers even during `salty bootstrap` (skipped there by default). */
    bootstrap?: boolean;
  }

  export interface NotifyOpts {
    /** Run even during `salty bootstrap` (skipped there by default). */
    bootstrap?: boolean;
    /** The init system; by default the host's `facts.init`. */
    init?: "systemd" | "launchd";
  }

  export interface ServiceOpts {
    /** Started (true) or stopped (false); left as it is when absent. */
    running?: boolean;
    /** Started at boot (true) or not (false); left as it is when absent. */
    enabled?: boolean;
    /** Restart now, if it was running already, when any of these results changed something. */
    restartOn?: Result | Result[];
    /** Reload now, if it was running already, when any of these results changed something. */
    reloadOn?: Result | Result[];
    /** The init system; by default the host's `facts.init`. */
    init?: "systemd" | "launchd";
  }

  export interface UnitOpts extends NotifyOpt, SensitiveOpts {
    /** Template variables, as for render(). */
    vars?: Record<string, unknown>;
    /** The init system; by default the host's `facts.init`. */
    init?: "systemd" | "launchd";
  }

  export interface Operators {
    /** Copy `files/src` from the master to `dst`; content is sent only when its hash differs.
     * @example await copy("nginx/mime.types", "/etc/nginx/mime.types", { mode: 0o644 }) */
    copy(src: string, dst: string, opts?: OwnerOpts & ValidateOpt): Promise<Result>;
    /** Render the EJS template `files/src` with the context plus `vars` into `dst`.
     * @example await render("nginx/nginx.conf", "/etc/nginx/nginx.conf", { vars: { workers: 4 } }) */
    render(
      src: string,
      dst: string,
      opts?: OwnerOpts & ValidateOpt & { vars?: Record<string, unknown> },
    ): Promise<Result>;
    /** Ensure `line` is a whole line of `path`: it replaces the last line matching `regexp` or the line
     * equal to `replace`, else goes after `insertAfter` / before `insertBefore`, else at the end.
     * `state: "absent"` removes it (or every line matching `regexp`).
     * @example await lineInFile("PermitRootLogin no", "/etc/ssh/sshd_config", { regexp: "^#?PermitRootLogin", validate: "sshd -t -f %s" }) */
    lineInFile(line: string, path: string, opts?: LineOpts): Promise<Result>;
    /** Ensure `path` holds exactly `content`, with that owner and mode (default 0644); written atomically.
     * @example await file("/etc/app/env", { content: `PORT=${port}\n`, mode: 0o640, group: "app" }) */
    file(path: string, opts: FileOpts): Promise<Result>;
    /** Ensure the cron entry `name` is the file /etc/cron.d/NAME (0644, root) holding one line
     * "SCHEDULE USER COMMAND"; checked first (name, schedule fields, one-line command). `state: "absent"` removes it.
     * @example await cron("backup", { schedule: "30 2 * * *", command: "/usr/local/bin/backup", user: "app" }) */
    cron(name: string, opts: CronOpts): Promise<Result>;
    /** Ensure a directory and its parents exist with that owner and mode.
     * @example await makedirs("/opt/app/log", { user: "app", mode: 0o750 }) */
    makedirs(path: string, opts?: OwnerOpts): Promise<Result>;
    /** Ensure `path` is absent (recursively).
     * @example await remove("/etc/nginx/sites-enabled/default") */
    remove(path: string, opts?: SensitiveOpts): Promise<Result>;
    /** Ensure `path` is a symlink to `target`, replacing a file or directory there.
     * @example await symlink("/opt/app/releases/42", "/opt/app/current") */
    symlink(target: string, path: string, opts?: SensitiveOpts): Promise<Result>;
    /** Mirror the fileroot directory `src` into `dst` like `rsync -a --delete`.
     * @example await syncdir("files/app/static", "/opt/app/static", { exclude: ["*.map"] }) */
    syncdir(src: string, dst: string, opts?: SyncdirOpts): Promise<Result>;
    /** Ensure `dest` is a git checkout of `rev` (a branch, a tag or a full commit hash) of `repo`,
     * detached at that commit; the output says the old and the new commit. A full hash that `dest`
     * is already at asks the network nothing; a name is looked up with `git ls-remote`.
     * @example await git("https://github.com/acme/app.git", "/opt/app/src", { rev: "v1.4.2", depth: 1 }) */
    git(repo: string, dest: string, opts?: GitOpts): Promise<Result>;
    /** Ensure `dest` holds the file at `url` (http or https). Downloaded to a temporary file beside
     * `dest`, checked against `sha256`, then renamed: never a half or unverified file. With `sha256`,
     * a `dest` that already has it is not fetched again; without, an existing `dest` is left as it is.
     * @example await download("https://ci.example.com/app-1.4.2.tar.gz", "/var/cache/app/app-1.4.2.tar.gz", { sha256: "9f86d0..." }) */
    download(url: string, dest: string, opts?: DownloadOpts): Promise<Result>;
    /** Extract a .tar.gz, .tgz, .tar.xz or .zip archive (`files/...` from the fileroot, or an absolute
     * path on the host) into `destDir` with the system's tar or unzip. Entries that would land outside
     * `destDir` (absolute, `..`, links pointing out) are refused before anything is extracted. Done
     * once per archive content: a marker file (.salty-unarchive) in `destDir` holds its hash.
     * @example await unarchive("/var/cache/app/app-1.4.2.tar.gz", `/opt/app/releases/1.4.2`, { sha256 }) */
    unarchive(src: string, destDir: string, opts?: UnarchiveOpts): Promise<Result>;
    /** Make `dir/releases/VERSION` (if missing), point the symlink `dir/current` at it (switched
     * atomically) and remove the oldest releases beyond `keep` (never the current one).
     * @example await release("/opt/app", "1.4.2", { keep: 3 }) */
    release(dir: string, version: string, opts?: ReleaseOpts): Promise<Result>;
    /** Run shell commands on the agent with /bin/sh; `output` is stdout+stderr. Given a list of
     * words, run that argv with no shell: nothing in the words is interpreted (use it for facts,
     * addresses and anything a host claims; or `quote()` each word of a command line).
     * @example await shell(["systemctl", "reload", "nginx"], { timeout: 30 }) */
    shell(cmds: string | string[], opts?: ShellOpts): Promise<Result>;
    /** Run the command `name` that the master declares (the executable `server/NAME` of its
     * fileroot; needs `salty master --allow-server-shell`) with JSON `args`: it gets them as
     * $SALTY_ARGS, and as its argv when they are a list of strings and numbers.
     * @example await serverShell("repo-head", ["main"], { timeout: 30 }) */
    serverShell(
      name: string,
      args?: unknown,
      opts?: SensitiveOpts & { timeout?: number },
    ): Promise<Result>;
    /** Ensure a local user exists with these attributes (only those given are looked at), or is absent
     * (shadow-utils, busybox on Alpine: no change of uid/group/home/shell/comment of an existing user
     * there; macOS dscl). The password is a crypt hash and is never shown.
     * @example await user("deploy", { shell: "/bin/bash", groups: ["docker"], password: "$6$Vx3q...$Yk2..." }) */
    user(name: string, opts?: UserOpts): Promise<Result>;
    /** Ensure a group exists with that gid and (when given) exactly those members, or is absent.
     * @example await group("docker", { system: true, members: ["deploy"] }) */
    group(name: string, opts?: GroupOpts): Promise<Result>;
    /** Ensure ~user/.ssh/authorized_keys holds these public keys (directory 0700, file 0600, owned by
     * the user); `exclusive`: exactly these keys.
     * @example await authorizedKeys("deploy", ["ssh-ed25519 AAAAC3Nza... ci@build"], { exclusive: true }) */
    authorizedKeys(
      user: string,
      keys: string | string[],
      opts?: AuthorizedKeysOpts,
    ): Promise<Result>;
    /** Ensure a user and a group of that name exist.
     * @example await useradd("nginx", { system: true }) */
    useradd(name: string, opts?: SensitiveOpts & { system?: boolean }): Promise<Result>;
    /** Ensure the user's supplementary groups are exactly `groups`.
     * @example await usergroups("deploy", ["docker", "adm"]) */
    usergroups(name: string, groups: string[], opts?: SensitiveOpts): Promise<Result>;
    /** Ensure packages are installed (or at their latest version, or absent), with one command of the
     * host's package manager (apt, dnf, yum, apk, brew) for the whole list. The installed set is read once
     * and kept while the package database is unchanged; the output lists what was installed or removed,
     * with versions.
     * @example await pkg(["nginx", "curl"], { update: "1h" }) */
    pkg(names: string | string[], opts?: PkgOpts): Promise<Result>;
    /** Ensure a systemd (or launchd) service is running or stopped, enabled or disabled; restart or reload
     * it now when one of `restartOn`/`reloadOn` changed something. Unit states are read once per apply.
     * @example await service("nginx", { running: true, enabled: true, reloadOn: conf }) */
    service(name: string, opts?: ServiceOpts & NotifyOpt & SensitiveOpts): Promise<Result>;
    /** Write a systemd unit to /etc/systemd/system/NAME (or a launchd plist to /Library/LaunchDaemons/NAME.plist),
     * rendered from `files/src` like render(); when it changed, `systemctl daemon-reload` runs right after.
     * @example await unit("app.service", "app/app.service", { vars: { port: 8080 }, notify: "app:restart" }) */
    unit(name: string, src: string, opts?: UnitOpts): Promise<Result>;
    /** Queue a handler: run once at the end of the host's apply, after all roles, in first-notified order
     * (`restart` absorbs `reload`). Owed handlers are journaled on the agent and survive a failed or
     * interrupted apply. Skipped during `salty bootstrap` unless `{ bootstrap: true }`.
     * @example if (conf.changed) await notify("nginx", "reload") */
    notify(
      service: string,
      action: "reload" | "restart",
      opts?: NotifyOpts & SensitiveOpts,
    ): Promise<Result>;
    /** Append to the role's output.
     * @example print(`deploying ${version}`) */
    print(x: unknown): void;
    /** Whether anything in this role changed so far.
     * @example if (isChanged() && !bootstrap) await shell("systemctl restart app") */
    isChanged(): boolean;
    /** This host's private IPv4 address.
     * @example const ip = myIp() */
    myIp(): string | undefined;
    /** Sorted private IPv4s of the hosts in my cluster that have `role`.
     * @example const peers = getIps("redis") */
    getIps(role: string): string[];
    /** Words made safe for a /bin/sh command line (single-quoted where needed), joined by spaces.
     * @example await shell(`ping -c1 ${quote(getIps("db")[0] ?? "")}`) */
    quote(...words: Array<string | number>): string;
  }

  export interface Interface {
    device: string;
    mac: string;
    ipv4: string;
    ipv4_network: string;
    ipv6?: string;
    is_private: boolean;
    is_public: boolean;
    is_loopback: boolean;
    is_bridge: boolean;
  }

  /** What a host claims about itself. The master checks them (types, sizes, address syntax), drops
   * what does not fit and derives is_private/is_public/is_loopback from the address; strings such as
   * hostname and device are still only claims: pass them to shell() as argv words or through quote(). */
  export interface Facts {
    kernel: "Linux" | "Darwin";
    machine: string;
    /** `family`: debian, redhat, alpine, arch, suse, darwin (else the os-release ID); `id`,
     * `version_id` and `codename` as /etc/os-release says them ("" when it does not). The facts added
     * for the package and service backends are optional in the type only: the master fills them in
     * for an agent that does not send them ("" and "none"). */
    os: {
      name: string;
      version: string;
      family?: string;
      id?: string;
      version_id?: string;
      codename?: string;
    };
    cpu_count: number;
    mem_gb: number;
    hostname: string;
    networking: { interfaces: Interface[] };
    /** What `pkg()` uses here: apt, dnf, yum, apk, brew, pacman, zypper, or none. */
    pkg_manager?: string;
    /** What `service()` and `unit()` talk to. */
    init?: "systemd" | "launchd" | "none";
    /** What the host runs in, when it can be told. */
    virtual?: "container" | "vm" | "none";
  }

  export type Vars = Record<string, unknown>;

  /** A host as roles and templates see it. */
  export interface HostInfo {
    env: string;
    cluster: string;
    roles: string[];
    vars: Vars;
    facts?: Facts;
  }

  /** An apply argument's value (`KEY=VALUE`): a number, true/false, a comma list, else the string. */
  export type ArgValue = string | number | boolean | string[];

  /** What the master sends for each role run: the host, the role, the apply's arguments. */
  export interface HostContext {
    id: string;
    me: HostInfo;
    role: string;
    /** The other hosts of the inventory (other hosts' secret vars are absent). */
    hosts: Record<string, HostInfo>;
    bootstrap: boolean;
    /** The apply's `KEY=VALUE` arguments: `salty apply version=42` gives `args.version === 42`.
     * (Changed from the SPEC: they were keys of the context itself.) */
    args: Readonly<Record<string, ArgValue>>;
  }

  /** What a role and a template receive besides the operators. */
  export interface Context extends HostContext {
    /** This run is a dry run (`--dry-run`): operators plan and say what they would do, nothing changes. */
    dryRun: boolean;
    /** Where the destination path `p` is on this host: under `--path PREFIX` when the agent has one
     * (`shell` has it as $SALTY_PATH_PREFIX), else `p`. For a role that reads or writes files itself.
     * @example const conf = readFileSync(path("/etc/app/app.conf"), "utf8") */
    path(p: string): string;
  }

  export type Role = (ctx: Operators & Context) => Promise<void>;

  /** A var's type as its default gives it: a literal default gives its base type (8080: number). */
  type Widen<T> = T extends string
    ? string
    : T extends number
      ? number
      : T extends boolean
        ? boolean
        : T;

  /** The vars a defineRole() role receives: exactly the keys of its defaults, each of its default's type. */
  export type RoleVars<D> = { readonly [K in keyof D]: Widen<D[K]> };

  /**
   * A role with defaults for its vars: `vars` is the host's vars (`me.vars`) over `defaults` (a var
   * the host sets wins, key by key, not merged deeper), typed by the defaults, so `vars.port` is a
   * number when its default is 8080 and a var without a default is a type error.
   * @example
   * import { defineRole } from "salty";
   * export default defineRole({ defaults: { port: 8080, server_name: "_" } }, async ({ render }, vars) => {
   *   await render("site/vhost.conf", "/etc/nginx/sites-enabled/app", { vars: { port: vars.port } });
   * });
   */
  export function defineRole<D extends Record<string, unknown>>(
    spec: { defaults: D },
    run: (ctx: Operators & Context, vars: RoleVars<D>) => Promise<void>,
  ): Role;

  export interface HostSpec {
    env: string;
    roles: string[];
    /** Names in `roles` that are tags, not roles: no roles/NAME.ts, nothing runs (getIps and `hosts` still see them). Any other role without a file is an inventory error. */
    tags?: string[];
    vars?: Vars;
    /** Do not report this host as missing when it is not connected. */
    ignore_missing?: boolean;
  }

  export interface Inventory {
    clusters?: Record<string, Vars>;
    envs?: Record<string, Vars>;
    /** cluster -> host id (or glob) -> host */
    hosts: Record<string, Record<string, HostSpec>>;
  }
}

// Roles may import node:* built-ins (the only imports allowed at run time). A
// fileroot has no @types/node, so they are declared here without types (any)
// and roles that use them type-check; where @types/node is installed (salty's
// own checkout), its declarations of each module win over this pattern.
declare module "node:*";
