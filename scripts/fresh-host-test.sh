#!/usr/bin/env bash
# A fresh host, proven (npm run test:fresh-host; needs root, Linux x64).
#
# Makes a minimal Debian root with debootstrap (cached: reruns copy it), copies
# ONLY dist/salty-linux-x64 into it, runs the agent inside it (its own mount and
# PID namespace, chrooted) against a master on 127.0.0.1 started outside,
# accepts the agent's key, applies the example roles (hosts/, roles/, files/ of
# this repository, plus a role that installs the small package `tree` with
# pkg(): apt-get inside the root, from Debian's registry) and checks the files
# they wrote inside the root. A second apply must change nothing; then tree is
# removed, and removing it again changes nothing. Every process it starts is stopped by PID.
#
# Environment: SALTY_FRESH_HOST_CACHE (default /var/tmp/salty-fresh-host),
# SALTY_DEBIAN_MIRROR (default: this machine's apt mirror), SALTY_DEBIAN_SUITE
# (default bookworm), SALTY_KEEP=1 keeps the work directory for inspection.

set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
BIN=$REPO/dist/salty-linux-x64
CACHE=${SALTY_FRESH_HOST_CACHE:-/var/tmp/salty-fresh-host}
SUITE=${SALTY_DEBIAN_SUITE:-bookworm}
AGENT_ID=web1.salty.test
STARTED=$SECONDS
LABEL=fresh-host
# shellcheck source=scripts/_debian-root.sh
source "$REPO/scripts/_debian-root.sh"
watched() { echo $MASTER_PID $UNSHARE_PID; }
MASTER_PID=""
UNSHARE_PID=""
AGENT_PID=""
WORK=""

cleanup() {
  local status=$?
  [[ -n $UNSHARE_PID ]] && stop "${AGENT_PID:-$UNSHARE_PID}" "$UNSHARE_PID"
  [[ -n $MASTER_PID ]] && stop "$MASTER_PID" "$MASTER_PID"
  if [[ $status -ne 0 && -n $WORK ]]; then
    for log in "$WORK"/*.log; do [[ -f $log ]] && { echo "--- $log"; tail -n 30 "$log"; }; done
  fi
  if [[ -n $WORK && ${SALTY_KEEP:-} != 1 ]]; then
    # The agent's mounts lived in its own namespace and died with it; never cross a mount anyway.
    rm -rf --one-file-system "$WORK"
  fi
  say "$([[ $status -eq 0 ]] && echo PASS || echo "failed (exit $status)")"
}
trap cleanup EXIT

[[ $(id -u) -eq 0 ]] || die "run as root: debootstrap, chroot and namespaces need it"
[[ $(uname -m) == x86_64 ]] || die "this test runs dist/salty-linux-x64 and needs an x86_64 machine"
[[ -x $BIN ]] || die "$BIN is missing: npm run release (npm run test:fresh-host builds it)"

PRISTINE=$(cached_root minbase bin/sh)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/salty-fresh-host.XXXXXX")
ROOT=$WORK/root
say "copying the cached root to $ROOT"
cp -a "$PRISTINE" "$ROOT"
for tool in bun node nodejs npm; do
  [[ -z $(find "$ROOT/usr" "$ROOT/bin" -name "$tool" -print -quit 2>/dev/null) ]] || die "the fresh root already holds $tool"
done
install -m 0755 "$BIN" "$ROOT/usr/local/bin/salty"
[[ ! -e /opt/demo ]] || die "/opt/demo exists on this machine: the check that nothing is written outside the root needs it absent"

# The master, outside the root: the example fileroot, a fresh keyroot holding the demo password.
KEYS=$WORK/master-keys
mkdir -m 0700 "$KEYS"
install -m 0600 "$REPO/scripts/demo-crypto.pass" "$KEYS/crypto.pass"
PORT=$(free_port)
export SALTY_TIMING='{"backoffMinMs":200,"backoffMaxMs":1000}'
# The example fileroot, plus a role that installs a small real package with pkg() (apt, Debian's registry).
FILEROOT=$WORK/fileroot
mkdir "$FILEROOT"
cp -a "$REPO/hosts" "$REPO/roles" "$REPO/files" "$FILEROOT/"
cat >"$FILEROOT/roles/packages.ts" <<'ROLE'
import type { Role } from "salty";
export default (async ({ pkg, args }) => {
  await pkg(["tree"], { state: args.pkg_state === "absent" ? "absent" : "present" });
}) satisfies Role;
ROLE
sed -i 's/roles: \["role1", "supervisord", "nginx"\]/roles: ["role1", "supervisord", "nginx", "packages"]/' "$FILEROOT/hosts/index.ts"
grep -q '"nginx", "packages"' "$FILEROOT/hosts/index.ts" || die "could not add the packages role to $AGENT_ID in the copied hosts/index.ts"
say "master on 127.0.0.1:$PORT"
"$BIN" master --bind "127.0.0.1:$PORT" --keyroot "$KEYS" --fileroot "$FILEROOT" >"$WORK/master.log" 2>&1 &
MASTER_PID=$!

# Runs a command inside the root: its own mount namespace (proc, sys and dev
# mounted there vanish with it) and PID namespace (--kill-child takes it all down).
IN_ROOT=(unshare --mount --pid --fork --kill-child -- sh -c '
  root=$1 && shift &&
  mount -t proc proc "$root/proc" && mount -t sysfs sysfs "$root/sys" && mount --rbind /dev "$root/dev" &&
  exec chroot "$root" "$@"' sh "$ROOT")

# As on a real host: install the agent's service (no systemd in the root: the
# unit is written, not started), then run exactly its ExecStart line.
say "salty service install agent inside the root"
"${IN_ROOT[@]}" /usr/local/bin/salty service install agent "127.0.0.1:$PORT" --id "$AGENT_ID" >"$WORK/service.log" 2>&1 ||
  die "salty service install agent failed inside the root"
EXEC=$(sed -n 's/^ExecStart=//p' "$ROOT/etc/systemd/system/salty-agent.service")
[[ $EXEC == "/usr/local/bin/salty agent 127.0.0.1:$PORT --id $AGENT_ID --keyroot /etc/salty" ]] ||
  die "unexpected ExecStart in the agent's unit: $EXEC"
grep -qx "Restart=always" "$ROOT/etc/systemd/system/salty-agent.service" || die "the agent's unit does not restart it"

say "agent $AGENT_ID inside the root: $EXEC"
# shellcheck disable=SC2086 # ExecStart holds plain words (checked above)
"${IN_ROOT[@]}" $EXEC >"$WORK/agent.log" 2>&1 &
UNSHARE_PID=$!
agent_pid() { AGENT_PID=$(awk -v p="$UNSHARE_PID" '$4 == p { print $1; exit }' /proc/[0-9]*/stat 2>/dev/null) && [[ -n $AGENT_PID ]]; }
wait_for 10 "the agent process" agent_pid

salty() { "$BIN" "$@" --keyroot "$KEYS"; }
wait_for 30 "the agent's key to be pending" sh -c "'$BIN' keys list --keyroot '$KEYS' | grep -q '$AGENT_ID'"
salty keys accept "$AGENT_ID"
wait_for 30 "the agent to connect" sh -c "'$BIN' hosts --json --keyroot '$KEYS' | grep -q '\"$AGENT_ID\"'"
[[ -n $(ls -A "$ROOT/etc/salty" 2>/dev/null) ]] || die "the agent kept no key under /etc/salty inside the root"

# Only this host: web2 of the example inventory is not connected, and a missing host fails an apply that covers it.
say "salty apply -vv target=$AGENT_ID"
salty apply -vv target="$AGENT_ID" | tee "$WORK/apply.out" || die "salty apply failed"
grep -q "^host:$AGENT_ID .*errors:0" "$WORK/apply.out" || die "apply did not report $AGENT_ID without errors"

check() { # description test-args...
  local what=$1
  shift
  "$@" || die "inside the root: $what"
}
D=$ROOT/opt/demo
check "motd copied" cmp -s "$REPO/files/role1/motd" "$D/etc/motd"
check "app.conf rendered for this host" grep -q "^host = $AGENT_ID$" "$D/etc/app.conf"
check "app.conf holds the decrypted secret" sh -c "grep -q '^password = ' '$D/etc/app.conf' && ! grep -q 'NACL\[' '$D/etc/app.conf'"
check "app.conf used the facts of the root's host" grep -q "^kernel = Linux x86_64" "$D/etc/app.conf"
check "three worker confs" test -s "$D/etc/workers/alpha.conf" -a -s "$D/etc/workers/beta.conf" -a -s "$D/etc/workers/gamma.conf"
check "static synced without excluded paths" sh -c "test -f '$D/static/index.html' && test -f '$D/static/css/site.css' && ! test -e '$D/static/drafts' && ! test -e '$D/static/notes.tmp'"
check "the .enc file decrypted, mode 0600" sh -c "test -s '$D/etc/nginx/ssl/demo.key' && test \$(stat -c %a '$D/etc/nginx/ssl/demo.key') = 600"
check "nginx.conf symlinked" test "$(readlink "$D/etc/nginx.conf")" = /opt/demo/etc/nginx/nginx.conf
check "a line in hosts" grep -qx "127.0.0.1 localhost" "$D/etc/hosts"
check "supervisord rendered, its log dir 0750" sh -c "test -s '$D/supervisord/supervisord.conf' && test \$(stat -c %a '$D/log/supervisord') = 750"
[[ ! -e /opt/demo ]] || die "the agent wrote /opt/demo outside its root"

say "salty apply again: nothing may change"
salty apply -vv target="$AGENT_ID" >"$WORK/apply2.out" || { cat "$WORK/apply2.out"; die "the second apply failed"; }
grep -q "^host:$AGENT_ID .*changed:0" "$WORK/apply2.out" || { cat "$WORK/apply2.out"; die "the second apply changed something"; }

# pkg() for real: the first apply installed tree with apt-get inside the root (the
# second changed nothing); now remove it, then nothing again.
check "tree installed by pkg() with apt" test -x "$ROOT/usr/bin/tree"
grep -q '"output":"installed tree [0-9]' "$WORK/apply.out" || { cat "$WORK/apply.out"; die "pkg() did not report the installed version of tree"; }
say "salty apply roles=packages pkg_state=absent"
salty apply -vv target="$AGENT_ID" roles=packages pkg_state=absent >"$WORK/apply3.out" || { cat "$WORK/apply3.out"; die "removing tree failed"; }
grep -q '"output":"removed tree [0-9]' "$WORK/apply3.out" || { cat "$WORK/apply3.out"; die "pkg() did not report removing tree"; }
check "tree removed by pkg() with apt" test ! -e "$ROOT/usr/bin/tree"
salty apply -vv target="$AGENT_ID" roles=packages pkg_state=absent >"$WORK/apply4.out" || { cat "$WORK/apply4.out"; die "the second removal failed"; }
grep -q "^host:$AGENT_ID .*changed:0" "$WORK/apply4.out" || { cat "$WORK/apply4.out"; die "removing tree again changed something"; }
