// Gathers this host's Facts. Runs at every agent start and every minute, so
// it stays cheap: on Linux it reads /etc/os-release, /proc/meminfo,
// /sys/class/net and the container and VM markers (/proc/1/cgroup,
// /proc/cpuinfo, DMI) and asks node:os (no process is spawned, and nothing needs
// `ip`, which minimal images lack); on macOS it runs `sw_vers` and
// `ifconfig -a` in parallel. Parsing lives in parse.ts; this file only fetches.
// It must not write anything.

import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import os from "node:os";
import type { Facts } from "salty";
import { timing } from "../constants.ts";
import { SaltyError, errorMessage } from "../errors.ts";
import { log } from "../log.ts";
import {
  detectInit,
  detectVirtual,
  darwinInterfaces,
  nodeInterfaces,
  parseMeminfo,
  parseOsIdentity,
  parseOsRelease,
  parseSwVers,
  pkgManagerFor,
  toGb,
  type NodeNetEntry,
} from "./parse.ts";
import { childEnv } from "../sys/child-env.ts";

export async function gatherFacts(): Promise<Facts> {
  const kernel = os.type();
  if (kernel === "Linux") return gatherLinux();
  if (kernel === "Darwin") return gatherDarwin();
  throw new SaltyError(
    `facts: unsupported kernel ${kernel} (Linux and Darwin only)`,
    "E_UNSUPPORTED",
  );
}

type Platform = Pick<Facts, "pkg_manager" | "init" | "virtual">;

/** In the order of SPEC section 4 (then what the package and service backends need), so `salty facts` reads the same everywhere. */
function assemble(
  kernel: Facts["kernel"],
  rest: Pick<Facts, "os" | "mem_gb" | "networking"> & Platform,
): Facts {
  const { os: osInfo, mem_gb, networking, pkg_manager, init, virtual } = rest;
  return {
    kernel,
    machine: unameMachine(os.machine(), kernel),
    os: osInfo,
    cpu_count: os.availableParallelism(),
    mem_gb,
    hostname: os.hostname(),
    networking,
    pkg_manager,
    init,
    virtual,
  };
}

const readOr = (path: string) => readFile(path, "utf8").catch(() => null);

async function gatherLinux(): Promise<Facts> {
  const [osRelease, meminfo, cgroup, systemdContainer, cpuinfo, dmiVendor, pid1] =
    await Promise.all([
      readFile("/etc/os-release", "utf8")
        .catch(() => readFile("/usr/lib/os-release", "utf8"))
        .catch(() => ""),
      readFile("/proc/meminfo", "utf8").catch(() => ""),
      readOr("/proc/1/cgroup"),
      readOr("/run/systemd/container"),
      readOr("/proc/cpuinfo"),
      readOr("/sys/class/dmi/id/sys_vendor"),
      readOr("/proc/1/comm"),
    ]);
  const nets = os.networkInterfaces() as Record<string, NodeNetEntry[] | undefined>;
  // An alias label ("eth0:1") is a bridge when its device is.
  const bridges = Object.keys(nets).filter((dev) =>
    existsSync(`/sys/class/net/${dev.split(":")[0]}/bridge`),
  );
  const ident = parseOsIdentity(osRelease);
  return assemble("Linux", {
    os: {
      ...(osRelease ? parseOsRelease(osRelease) : { name: "Linux", version: os.release() }),
      ...ident,
    },
    mem_gb: meminfo ? parseMeminfo(meminfo) : toGb(os.totalmem()),
    networking: { interfaces: nodeInterfaces(nets, bridges) },
    pkg_manager: pkgManagerFor(ident.family, ident.id, ident.version_id),
    init: detectInit("Linux", existsSync("/run/systemd/system"), pid1),
    virtual: detectVirtual({
      cgroup,
      systemdContainer,
      containerEnv: existsSync("/.dockerenv") || existsSync("/run/.containerenv"),
      cpuinfo,
      dmiVendor,
    }),
  });
}

async function gatherDarwin(): Promise<Facts> {
  const [swVers, ifconfig, hv] = await Promise.all([
    run(["sw_vers"]),
    run(["ifconfig", "-a"]),
    run(["sysctl", "-n", "kern.hv_vmm_present"]),
  ]);
  const nets = os.networkInterfaces() as Record<string, NodeNetEntry[] | undefined>;
  const named = swVers ? parseSwVers(swVers) : { name: "macOS", version: os.release() };
  return assemble("Darwin", {
    os: { ...named, family: "darwin", id: "macos", version_id: named.version, codename: "" },
    // os.totalmem() is sysctl hw.memsize on macOS: no need to spawn sysctl.
    mem_gb: toGb(os.totalmem()),
    networking: {
      interfaces: ifconfig
        ? darwinInterfaces(ifconfig)
        : nodeInterfaces(
            nets,
            Object.keys(nets).filter((d) => /^bridge\d+$/.test(d)),
          ),
    },
    pkg_manager:
      existsSync("/opt/homebrew/bin/brew") || existsSync("/usr/local/bin/brew") ? "brew" : "none",
    init: "launchd",
    virtual: hv?.trim() === "1" ? "vm" : "none",
  });
}

/** stdout of a command, or undefined when it cannot run, fails or hangs (facts degrade, never fail). */
async function run(argv: string[]): Promise<string | undefined> {
  try {
    const proc = Bun.spawn(argv, {
      env: childEnv(),
      stdout: "pipe",
      stderr: "ignore",
      stdin: "ignore",
      timeout: timing.factsCommandTimeoutMs,
    });
    const [out, rc] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    return rc === 0 ? out : undefined;
  } catch (err) {
    log("facts.command_failed", { cmd: argv[0], error: errorMessage(err) });
    return undefined;
  }
}

/** What `uname -m` says (and Salt and Ansible report): Bun says "arm64" where Linux says "aarch64". */
export function unameMachine(machine: string, kernel: string): string {
  return kernel === "Linux" && machine === "arm64" ? "aarch64" : machine;
}
