// Set-up of the slow release tests: Debian packages they need (installed with
// apt-get when missing and running as root, as on a fresh CI machine), and
// readers of executable headers.

import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

export async function sh(
  argv: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
) {
  const proc = Bun.spawn(argv, {
    ...opts,
    env: { ...process.env, ...opts.env },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

/** The path of `bin`, installing the Debian package `pkg` first when it is missing. */
export async function ensureTool(bin: string, pkg: string): Promise<string> {
  const found = Bun.which(bin);
  if (found) return found;
  if (process.getuid?.() !== 0 || !Bun.which("apt-get")) {
    throw new Error(
      `${bin} is missing: run \`apt-get install -y ${pkg}\` as root (or run these tests as root on Debian/Ubuntu)`,
    );
  }
  const install = ["apt-get", "install", "-y", "--no-install-recommends", pkg];
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  let r = await sh(install, { env });
  if (r.code !== 0) {
    await sh(["apt-get", "update"], { env });
    r = await sh(install, { env });
  }
  const path = Bun.which(bin);
  if (!path) throw new Error(`apt-get install ${pkg} did not provide ${bin}: ${r.stderr.trim()}`);
  return path;
}

/**
 * A directory holding Debian's arm64 C library, for `qemu-aarch64-static -L`:
 * Bun's linux-arm64 runtime is linked against glibc. The package is fetched with
 * apt-get using this machine's mirrors but private lists and caches under
 * `cacheDir`, so the host's apt and dpkg state are left alone.
 */
export async function ensureArm64Sysroot(cacheDir: string): Promise<string> {
  const sysroot = join(cacheDir, "sysroot");
  if (existsSync(join(sysroot, "lib", "ld-linux-aarch64.so.1"))) return sysroot;
  if (!Bun.which("apt-get") || !Bun.which("dpkg-deb"))
    throw new Error("fetching arm64 glibc for qemu needs apt-get and dpkg-deb (Debian/Ubuntu)");
  for (const d of ["lists/partial", "cache/archives/partial", "debs"])
    mkdirSync(join(cacheDir, d), { recursive: true });
  const o = [
    `Dir::State::Lists=${cacheDir}/lists`,
    `Dir::Cache=${cacheDir}/cache`,
    "APT::Architecture=arm64",
    "APT::Architectures::=arm64",
    "Debug::NoLocking=1",
  ];
  const apt = (...args: string[]) =>
    sh(["apt-get", ...o.flatMap((x) => ["-o", x]), ...args], { cwd: join(cacheDir, "debs") });
  for (const step of [["update"], ["download", "libc6:arm64"]]) {
    const r = await apt(...step);
    if (r.code !== 0)
      throw new Error(
        `apt-get ${step.join(" ")} (arm64) failed: ${r.stderr.trim().split("\n").pop()}`,
      );
  }
  const deb = readdirSync(join(cacheDir, "debs")).find(
    (f) => f.startsWith("libc6_") && f.endsWith("_arm64.deb"),
  );
  if (!deb) throw new Error("apt-get download libc6:arm64 left no .deb");
  const r = await sh(["dpkg-deb", "-x", join(cacheDir, "debs", deb), sysroot]);
  if (r.code !== 0) throw new Error(`dpkg-deb -x ${deb} failed: ${r.stderr.trim()}`);
  for (const d of ["lists", "cache", "debs"])
    rmSync(join(cacheDir, d), { recursive: true, force: true });
  return sysroot;
}

export type MachO = {
  magic: number;
  cputype: number;
  filetype: number;
  segments: string[];
  commands: number[];
};

/** The 64-bit Mach-O header and load commands of an executable (little-endian, as on arm64). */
export function readMachO(bytes: Buffer): MachO {
  const magic = bytes.readUInt32LE(0);
  const ncmds = bytes.readUInt32LE(16);
  const segments: string[] = [];
  const commands: number[] = [];
  let off = 32;
  for (let i = 0; i < ncmds; i++) {
    const cmd = bytes.readUInt32LE(off);
    commands.push(cmd);
    if (cmd === LC_SEGMENT_64)
      segments.push(bytes.toString("latin1", off + 8, off + 24).replace(/\0+$/, ""));
    off += bytes.readUInt32LE(off + 4);
  }
  return {
    magic,
    cputype: bytes.readUInt32LE(4),
    filetype: bytes.readUInt32LE(12),
    segments,
    commands,
  };
}

export const MH_MAGIC_64 = 0xfeedfacf;
export const CPU_TYPE_ARM64 = 0x0100000c;
export const MH_EXECUTE = 2;
export const LC_SEGMENT_64 = 0x19;
export const LC_MAIN = 0x80000028;
export const LC_CODE_SIGNATURE = 0x1d;

/** ELF class (2 = 64-bit) and machine (0x3e x86-64, 0xb7 aarch64). */
export function readElf(bytes: Buffer): { magic: string; elfClass: number; machine: number } {
  return {
    magic: bytes.toString("latin1", 0, 4),
    elfClass: bytes[4]!,
    machine: bytes.readUInt16LE(18),
  };
}
