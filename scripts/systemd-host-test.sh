#!/usr/bin/env bash
# service(), unit() and handlers against a real systemd (npm run test:systemd-host;
# needs root, Linux x64, a kernel that lets systemd-nspawn boot a container).
#
# Makes a minimal Debian root with systemd in it (debootstrap, cached), copies
# ONLY dist/salty-linux-x64 into it, enables the agent's unit written by
# `salty service install agent` inside the root, and boots the root with
# `systemd-nspawn --boot` (the host's network: the agent reaches a master on
# 127.0.0.1 outside). A role then writes a unit with unit(), starts and
# enables it with service() (the restart its change queued is dropped: the
# unit was just started); the unit's process is checked from outside; a second
# apply changes nothing and runs no handler; a third changes its config and a
# handler restarts it (a new process). service() asks systemd over its private socket,
# not systemctl: the unit stopped by hand behind salty's back is started by the next
# apply, disabled by hand it is enabled again, and the agent's connection to the
# socket is checked. A fourth apply stops it. Every process it starts is stopped by PID.
#
# Environment: SALTY_FRESH_HOST_CACHE (default /var/tmp/salty-fresh-host),
# SALTY_DEBIAN_MIRROR, SALTY_DEBIAN_SUITE (default bookworm), SALTY_KEEP=1.

set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
BIN=$REPO/dist/salty-linux-x64
CACHE=${SALTY_FRESH_HOST_CACHE:-/var/tmp/salty-fresh-host}
SUITE=${SALTY_DEBIAN_SUITE:-bookworm}
ID=sd1.salty.test
STARTED=$SECONDS
LABEL=systemd-host
# shellcheck source=scripts/_debian-root.sh
source "$REPO/scripts/_debian-root.sh"
watched() { echo $MASTER_PID $NSPAWN_PID; }
MASTER_PID=""
NSPAWN_PID=""
WORK=""
MARK="31536000.$$"

# Its own stop (no namespace here: systemd-nspawn ends its container on TERM), replacing _debian-root.sh's.
stop() { # pid, seconds to wait after TERM
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq $((${2:-10} * 5))); do alive "$1" || break; sleep 0.2; done
  alive "$1" && { say "$1 did not stop on TERM: KILL"; kill -KILL "$1" 2>/dev/null || true; }
  wait "$1" 2>/dev/null || true
}

cleanup() {
  local status=$?
  # TERM makes nspawn power the container off in order; its processes go with it.
  [[ -n $NSPAWN_PID ]] && stop "$NSPAWN_PID" 30
  [[ -n $MASTER_PID ]] && stop "$MASTER_PID"
  if [[ $status -ne 0 && -n $WORK ]]; then
    for log in "$WORK"/*.log; do [[ -f $log ]] && { echo "--- $log"; tail -n 40 "$log"; }; done
  fi
  [[ -n $WORK && ${SALTY_KEEP:-} != 1 ]] && rm -rf --one-file-system "$WORK"
  say "$([[ $status -eq 0 ]] && echo PASS || echo "failed (exit $status)")"
}
trap cleanup EXIT

[[ $(id -u) -eq 0 ]] || die "run as root"
[[ $(uname -m) == x86_64 ]] || die "this test runs dist/salty-linux-x64"
[[ -x $BIN ]] || die "$BIN is missing: npm run release (npm run test:systemd-host builds it)"
ensure_tool systemd-nspawn systemd-container

PRISTINE=$(cached_root systemd lib/systemd/systemd systemd,systemd-sysv,dbus)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/salty-systemd-host.XXXXXX")
ROOT=$WORK/root
say "copying the cached root to $ROOT"
cp -a "$PRISTINE" "$ROOT"
install -m 0755 "$BIN" "$ROOT/usr/local/bin/salty"
echo "$ID" >"$ROOT/etc/hostname"

FILEROOT=$WORK/fileroot
mkdir -p "$FILEROOT/hosts" "$FILEROOT/roles" "$FILEROOT/files/svc"
cat >"$FILEROOT/hosts/index.ts" <<EOF
export default { hosts: { lab: { "$ID": { env: "dev", roles: ["svc"] } } } };
EOF
cat >"$FILEROOT/roles/svc.ts" <<'EOF'
import type { Role } from "salty";
export default (async ({ unit, service, lineInFile, args }) => {
  await unit("salty-hello.service", "svc/salty-hello.service", { notify: "salty-hello:restart" });
  await lineInFile(`v=${String(args.v ?? 1)}`, "/etc/salty-hello.conf", { notify: "salty-hello:restart" });
  await service("salty-hello", { running: args.state !== "stopped", enabled: args.state !== "stopped" });
}) satisfies Role;
EOF
cat >"$FILEROOT/files/svc/salty-hello.service" <<EOF
[Unit]
Description=salty's systemd test service
[Service]
ExecStart=/bin/sleep $MARK
[Install]
WantedBy=multi-user.target
EOF

KEYS=$WORK/master-keys
mkdir -m 0700 "$KEYS"
PORT=$(free_port)
export SALTY_TIMING='{"backoffMinMs":200,"backoffMaxMs":1000}'
say "master on 127.0.0.1:$PORT"
"$BIN" master --bind "127.0.0.1:$PORT" --keyroot "$KEYS" --fileroot "$FILEROOT" >"$WORK/master.log" 2>&1 &
MASTER_PID=$!

say "salty service install agent inside the root (chroot: written, enabled at boot)"
# Bun needs /proc: the chroot gets its own mount namespace with proc, sys and dev (gone with it).
unshare --mount --pid --fork --kill-child -- sh -c '
  root=$1 && shift &&
  mount -t proc proc "$root/proc" && mount -t sysfs sysfs "$root/sys" && mount --rbind /dev "$root/dev" &&
  exec chroot "$root" "$@"' sh "$ROOT" /usr/local/bin/salty service install agent "127.0.0.1:$PORT" --id "$ID" >"$WORK/service.log" 2>&1 ||
  die "salty service install agent failed"
mkdir -p "$ROOT/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/salty-agent.service "$ROOT/etc/systemd/system/multi-user.target.wants/salty-agent.service"

say "systemd-nspawn --boot"
systemd-nspawn --boot --quiet --register=no --keep-unit --console=passive -D "$ROOT" >"$WORK/nspawn.log" 2>&1 &
NSPAWN_PID=$!

salty() { "$BIN" "$@" --keyroot "$KEYS"; }
wait_for 90 "the agent's key to be pending" sh -c "'$BIN' keys list --keyroot '$KEYS' | grep -q '$ID'"
salty keys accept "$ID"
wait_for 30 "the agent to connect" sh -c "'$BIN' hosts --json --keyroot '$KEYS' | grep -q '\"$ID\"'"
salty hosts --json | grep -Eq '"init": ?"systemd"' || { salty hosts --json; die "the agent's facts do not say init systemd"; }

# "[3]1536000...": a pattern that does not match the grep that looks for it.
FIND="[${MARK:0:1}]${MARK:1}"
# grep says 2 for a process that went away while it read: that is not "not found".
matches() { grep -ls "$FIND" /proc/[0-9]*/cmdline 2>/dev/null || true; }
running() { [[ -n $(matches) ]]; }
unit_pid() { matches | head -n 1 | cut -d/ -f3; }

say "salty apply -vv: unit written, daemon-reload, started and enabled (the restart it queued is then not needed)"
salty apply -vv >"$WORK/apply1.out" || { cat "$WORK/apply1.out"; die "the first apply failed"; }
cat "$WORK/apply1.out"
grep -q '"output":"salty-hello.service: enabled, started"' "$WORK/apply1.out" || die "service() did not start and enable the unit"
grep -q "role:handlers" "$WORK/apply1.out" && die "a unit started by this apply was restarted by a handler too"
wait_for 10 "the unit's process" running
FIRST=$(unit_pid)

say "salty apply again: nothing changes, no handler"
salty apply -vv >"$WORK/apply2.out" || { cat "$WORK/apply2.out"; die "the second apply failed"; }
grep -q "^host:$ID .*changed:0" "$WORK/apply2.out" || { cat "$WORK/apply2.out"; die "the second apply changed something"; }
grep -q "role:handlers" "$WORK/apply2.out" && { cat "$WORK/apply2.out"; die "the second apply ran a handler"; }

# A command inside the booted container (its systemd's PID 1, the child of nspawn).
inside() { nsenter -t "$(cat "/proc/$NSPAWN_PID/task/$NSPAWN_PID/children" | cut -d' ' -f1)" -a "$@"; }

say "stopped by hand behind salty's back: the next apply sees it stopped and starts it"
inside systemctl stop salty-hello.service
for _ in $(seq 50); do running || break; sleep 0.2; done
running && die "the unit's process still runs after systemctl stop"
salty apply -vv >"$WORK/apply-hand1.out" || { cat "$WORK/apply-hand1.out"; die "the apply after a stop by hand failed"; }
grep -q '"output":"salty-hello.service: started"' "$WORK/apply-hand1.out" || { cat "$WORK/apply-hand1.out"; die "service() did not see the unit stopped by hand"; }
wait_for 10 "the unit's process after the stop by hand" running
FIRST=$(unit_pid)

say "disabled by hand: the next apply enables it again"
inside systemctl disable salty-hello.service 2>/dev/null
salty apply -vv >"$WORK/apply-hand2.out" || { cat "$WORK/apply-hand2.out"; die "the apply after a disable by hand failed"; }
grep -q '"output":"salty-hello.service: enabled"' "$WORK/apply-hand2.out" || { cat "$WORK/apply-hand2.out"; die "service() did not see the unit disabled by hand"; }
[[ $(inside systemctl is-enabled salty-hello.service) == enabled ]] || die "the unit is not enabled after the apply"

# The states came from systemd's private socket (/run/systemd/private), not a systemctl process:
# the agent keeps its connection between applies (systemd's end of it is listed in /proc/net/unix).
# /proc/net/unix is the host's too (the container shares its network), where no systemd listens.
connected=$(awk '$8 == "/run/systemd/private" && $6 == "03"' /proc/net/unix | wc -l)
((connected >= 1)) || die "no connection to systemd's private socket after an apply: service() did not ask over the bus"

say "salty apply v=2: its config changed, the handler restarts it once, at the end"
salty apply -vv v=2 >"$WORK/apply3.out" || { cat "$WORK/apply3.out"; die "the third apply failed"; }
grep -q 'handler(restart salty-hello.service)","rc":0' "$WORK/apply3.out" || { cat "$WORK/apply3.out"; die "the restart handler did not run"; }
restarted() { local p; p=$(unit_pid); [[ -n $p && $p != "$FIRST" ]]; }
wait_for 10 "the restarted unit's process" restarted

say "salty apply state=stopped: stopped and disabled"
salty apply -vv v=2 state=stopped >"$WORK/apply4.out" || { cat "$WORK/apply4.out"; die "stopping failed"; }
grep -q '"output":"salty-hello.service: disabled, stopped"' "$WORK/apply4.out" || { cat "$WORK/apply4.out"; die "service() did not stop and disable the unit"; }
for _ in $(seq 50); do running || break; sleep 0.2; done
running && die "the unit's process still runs after the stop"
true
