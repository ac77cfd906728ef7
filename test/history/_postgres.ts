// A throw-away PostgreSQL server for tests: initdb into a temp dir, started
// with pg_ctl on a Unix socket in that dir (no TCP port to collide on),
// stopped and removed at the end. Debian's `postgresql` package provides the
// binaries (.ci/run installs it); as root they run as the `postgres` user,
// since initdb refuses root. Absent binaries: `available()` says why, and the
// tests that need a server are skipped with that message.

import { chownSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { tempDir } from "../_temp.ts";

function binDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions[0]) return join(root, versions[0], "bin");
  const onPath = Bun.which("initdb");
  return onPath ? join(onPath, "..") : undefined;
}

/** undefined when a server can be started here, else why not. */
export function unavailable(): string | undefined {
  if (!binDir())
    return "PostgreSQL is not installed (apt-get install postgresql): the PostgreSQL backend is not tested here";
  if (userInfo().uid === 0 && !Bun.which("runuser"))
    return "running as root without runuser: cannot start PostgreSQL as another user";
  return undefined;
}

export interface PgServer extends AsyncDisposable {
  url: string;
  dir: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP (or SIGCONT) the server and its backends, by PID: a server that accepts and never answers. */
  signal(sig: "SIGSTOP" | "SIGCONT"): void;
}

/** The server's PID (its postmaster.pid) and those of its children (/proc/PID/stat's parent field). */
function serverPids(data: string): number[] {
  const pidFile = join(data, "postmaster.pid");
  if (!existsSync(pidFile)) return [];
  const main = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
  const children = readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return (
          Number(
            readFileSync(`/proc/${d}/stat`, "utf8")
              .replace(/^.*\) /s, "")
              .split(" ")[1],
          ) === main
        );
      } catch {
        return false;
      }
    });
  return [main, ...children.map(Number)];
}

async function run(argv: string[], asUser: string | undefined): Promise<void> {
  const full = asUser ? ["runuser", "-u", asUser, "--", ...argv] : argv;
  const p = Bun.spawn(full, {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, LC_ALL: "C" },
  });
  const [out, err, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  if (code !== 0) throw new Error(`${argv.join(" ")} exited ${code}: ${err || out}`);
}

export async function startPostgres(): Promise<PgServer> {
  const bin = binDir()!;
  const scratch = tempDir("salty-pg-");
  const dir = scratch.path;
  const asUser = userInfo().uid === 0 ? "postgres" : undefined;
  if (asUser) {
    const uid = Number((await Bun.$`id -u ${asUser}`.text()).trim());
    const gid = Number((await Bun.$`id -g ${asUser}`.text()).trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, "data");
  await run(
    [join(bin, "initdb"), "-D", data, "-U", "salty", "-A", "trust", "-E", "UTF8", "--no-sync"],
    asUser,
  );
  const opts = `-c listen_addresses='' -c unix_socket_directories='${dir}' -c fsync=off -p 5432`;
  const pgctl = (...a: string[]) => run([join(bin, "pg_ctl"), "-D", data, ...a], asUser);
  const server: PgServer = {
    dir,
    url: `postgres://salty@localhost:5432/postgres?path=${encodeURIComponent(dir)}`,
    start: () => pgctl("-w", "-t", "30", "-l", join(dir, "log"), "-o", opts, "start"),
    signal(sig) {
      for (const pid of serverPids(data)) process.kill(pid, sig);
    },
    async stop() {
      await pgctl("-w", "-t", "30", "-m", "fast", "stop").catch(() => {});
      // pg_ctl failed to stop it: the server's PID, from its own file.
      const pidFile = join(data, "postmaster.pid");
      if (existsSync(pidFile)) {
        const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
        if (pid > 0)
          try {
            process.kill(pid, "SIGKILL");
          } catch {}
      }
    },
    async [Symbol.asyncDispose]() {
      await server.stop();
      scratch[Symbol.dispose]();
    },
  };
  await server.start();
  return server;
}
