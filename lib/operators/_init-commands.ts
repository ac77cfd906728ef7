// What service(), unit() and the handlers say to the init system: systemd
// (systemctl) and launchd (launchctl). The parsers of their listings and the
// commands that move a service from the state it is in to the one wanted.
// Pure: text in, argv lists out; no I/O.

export type Init = "systemd" | "launchd";
export type HandlerAction = "reload" | "restart" | "daemon-reload";

/** What the init system says of one service. */
export interface UnitState {
  /** systemd: loaded/not-found; launchd: whether the job is bootstrapped. */
  loaded: boolean;
  running: boolean;
  /** undefined: cannot be enabled or disabled (a static unit). */
  enabled: boolean | undefined;
}

/** A unit name as systemd knows it: "nginx" is nginx.service. */
export function unitName(init: Init, name: string): string {
  if (!/^[A-Za-z0-9@_.:\\-]{1,200}$/.test(name) || name.startsWith("-"))
    throw new Error(`not a service name: ${JSON.stringify(name)}`);
  return init === "systemd" && !/\.(service|socket|timer|target|path|mount)$/.test(name)
    ? `${name}.service`
    : name;
}

/** Where unit() writes a unit or a plist. */
export function unitPath(init: Init, name: string): string {
  return init === "systemd"
    ? `/etc/systemd/system/${unitName(init, name)}`
    : `/Library/LaunchDaemons/${name.replace(/\.plist$/, "")}.plist`;
}

/** The properties service() asks systemd for, several units in one `systemctl show`. */
export const SHOW_PROPS = "Id,LoadState,ActiveState,UnitFileState";

/**
 * `systemctl show -p Id,LoadState,ActiveState,UnitFileState A B ...`: one
 * block of KEY=value lines per unit, blank lines between. A unit systemd has
 * no file for says LoadState=not-found.
 */
export function parseSystemdShow(stdout: string): Map<string, UnitState> {
  const out = new Map<string, UnitState>();
  for (const block of stdout.split(/\n\s*\n/)) {
    const kv = new Map<string, string>();
    for (const l of block.split("\n")) {
      const i = l.indexOf("=");
      if (i > 0) kv.set(l.slice(0, i).trim(), l.slice(i + 1).trim());
    }
    const id = kv.get("Id");
    if (!id) continue;
    const active = kv.get("ActiveState") ?? "";
    const file = kv.get("UnitFileState") ?? "";
    const enabled = ["enabled", "enabled-runtime", "alias"].includes(file)
      ? true
      : ["disabled", "masked", "masked-runtime"].includes(file)
        ? false
        : undefined;
    out.set(id, {
      loaded: kv.get("LoadState") === "loaded",
      running: ["active", "reloading", "activating"].includes(active),
      enabled,
    });
  }
  return out;
}

/** `launchctl print system/LABEL` (rc 0 when loaded) and `launchctl print-disabled system`. */
export function parseLaunchd(
  label: string,
  print: { rc: number; stdout: string },
  disabled: string,
): UnitState {
  const loaded = print.rc === 0;
  const running = loaded && /^\s*state = running$/m.test(print.stdout);
  const m = new RegExp(`"${label.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}" => (\\w+)`).exec(
    disabled,
  );
  const off = m ? m[1] === "disabled" || m[1] === "true" : false;
  return { loaded, running, enabled: !off };
}

export interface Want {
  running?: boolean;
  enabled?: boolean;
  /** Restart (or reload) because something it reads changed; only when it is running already. */
  restart?: boolean;
  reload?: boolean;
}

/** The commands that take a service from `s` to `w`, and what they do in words. */
export function serviceCommands(
  init: Init,
  name: string,
  s: UnitState,
  w: Want,
): Array<{ argv: string[]; what: string }> {
  const out: Array<{ argv: string[]; what: string }> = [];
  const ctl = (...args: string[]) =>
    init === "systemd" ? ["systemctl", ...args, name] : ["launchctl", ...args];
  const target = `system/${name}`;
  if (w.enabled === true && s.enabled === false)
    out.push({ argv: init === "systemd" ? ctl("enable") : ctl("enable", target), what: "enabled" });
  if (w.enabled === false && s.enabled === true)
    out.push({
      argv: init === "systemd" ? ctl("disable") : ctl("disable", target),
      what: "disabled",
    });
  if (w.running === true && !s.running) {
    const argv =
      init === "systemd"
        ? ctl("start")
        : s.loaded
          ? ctl("kickstart", target)
          : ctl("bootstrap", "system", unitPath("launchd", name));
    out.push({ argv, what: "started" });
  } else if (w.running === false && s.running) {
    out.push({ argv: init === "systemd" ? ctl("stop") : ctl("bootout", target), what: "stopped" });
  } else if (s.running && w.running !== false && (w.restart || w.reload)) {
    out.push({
      argv: handlerArgv(init, name, w.restart ? "restart" : "reload"),
      what: w.restart ? "restarted" : "reloaded",
    });
  }
  return out;
}

/** A handler's command. launchd has no reload: a HUP is what daemons take for one. */
export function handlerArgv(init: Init, name: string, action: HandlerAction): string[] {
  if (action === "daemon-reload")
    return init === "systemd" ? ["systemctl", "daemon-reload"] : ["true"];
  if (init === "systemd") return ["systemctl", action, name];
  return action === "restart"
    ? ["launchctl", "kickstart", "-k", `system/${name}`]
    : ["launchctl", "kill", "HUP", `system/${name}`];
}
