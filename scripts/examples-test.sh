#!/usr/bin/env bash
# The three deployments of examples/ applied for real (npm run test:examples;
# needs root, Linux x64): each against a fresh copy of the cached debootstrap
# root of scripts/fresh-host-test.sh, with dist/salty-linux-x64 as the agent
# inside it (own mount and PID namespaces, chrooted) and a master outside on
# 127.0.0.1. apt runs for real inside the root (nginx, sudo from Debian's
# registry); services go to the recorded systemctl double
# (test/operators/init-output/systemctl-double.sh, installed as the root's
# systemctl with a table where nginx and app are loaded, active and enabled;
# /run/systemd/system made so that the host's facts say systemd). For each
# example: `apply --dry-run --diff` (it must succeed and change nothing in the
# root), a first apply (errors:0), a second apply (changed:0), then checks of
# what it made (nginx -t, visudo -c, the current symlink). Every process it
# starts is stopped by PID.
#
# Environment: as scripts/fresh-host-test.sh (SALTY_FRESH_HOST_CACHE,
# SALTY_DEBIAN_MIRROR, SALTY_DEBIAN_SUITE, SALTY_KEEP=1); SALTY_EXAMPLES picks
# some ("nginx-site users").

set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
BIN=$REPO/dist/salty-linux-x64
CACHE=${SALTY_FRESH_HOST_CACHE:-/var/tmp/salty-fresh-host}
SUITE=${SALTY_DEBIAN_SUITE:-bookworm}
EXAMPLES=${SALTY_EXAMPLES:-nginx-site users app-release}
STARTED=$SECONDS
LABEL=examples
# shellcheck source=scripts/_debian-root.sh
source "$REPO/scripts/_debian-root.sh"
watched() { echo $MASTER_PID $UNSHARE_PID; }
MASTER_PID=""
UNSHARE_PID=""
AGENT_PID=""
HTTP_PID=""
WORK=""

cleanup() {
  local status=$?
  stop_pair
  [[ -n $HTTP_PID ]] && stop "$HTTP_PID" "$HTTP_PID"
  if [[ $status -ne 0 && -n $WORK ]]; then
    for log in "$WORK"/*.log; do [[ -f $log ]] && { echo "--- $log"; tail -n 30 "$log"; }; done
  fi
  [[ -n $WORK && ${SALTY_KEEP:-} != 1 ]] && rm -rf --one-file-system "$WORK"
  say "$([[ $status -eq 0 ]] && echo PASS || echo "failed (exit $status)")"
}
trap cleanup EXIT

stop_pair() {
  [[ -n $UNSHARE_PID ]] && stop "${AGENT_PID:-$UNSHARE_PID}" "$UNSHARE_PID"
  [[ -n $MASTER_PID ]] && stop "$MASTER_PID" "$MASTER_PID"
  UNSHARE_PID="" AGENT_PID="" MASTER_PID=""
}

[[ $(id -u) -eq 0 ]] || die "run as root: debootstrap, chroot and namespaces need it"
[[ -x $BIN ]] || die "$BIN is missing: npm run test:examples builds it"
PRISTINE=$(cached_root minbase bin/sh)
BUN=$(command -v bun || echo "$REPO/node_modules/.bin/bun")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/salty-examples.XXXXXX")
export SALTY_TIMING='{"backoffMinMs":200,"backoffMaxMs":1000}'

# The artifact of the app-release example, as CI would publish it, served on loopback.
ART=$WORK/artifacts
mkdir -p "$ART/src/bin"
printf '#!/bin/sh\necho "app 1.0.0 on port $2"\n' >"$ART/src/bin/app"
chmod 0755 "$ART/src/bin/app"
tar -czf "$ART/app-1.0.0.tar.gz" -C "$ART/src" .
SHA=$(sha256sum "$ART/app-1.0.0.tar.gz" | cut -d' ' -f1)
HTTP_PORT=$(free_port)
"$BUN" -e "Bun.serve({ hostname: '127.0.0.1', port: $HTTP_PORT, fetch: (r) => new Response(Bun.file('$ART' + new URL(r.url).pathname)) })" >"$WORK/http.log" 2>&1 &
HTTP_PID=$!

run_example() { # name host-id apply-args...
  local name=$1 id=$2
  shift 2
  local root=$WORK/$name-root keys=$WORK/$name-keys fileroot=$WORK/$name-fileroot port
  say "== $name: a fresh root, the master on the example's fileroot"
  cp -a "$PRISTINE" "$root"
  install -m 0755 "$BIN" "$root/usr/local/bin/salty"
  install -m 0755 "$REPO/test/operators/init-output/systemctl-double.sh" "$root/usr/local/bin/systemctl"
  printf 'nginx.service loaded active enabled\napp.service loaded active enabled\n' >"$root/usr/local/bin/units-table.txt"
  mkdir -p "$root/run/systemd/system"
  mkdir -m 0700 "$keys"
  install -m 0600 "$REPO/scripts/demo-crypto.pass" "$keys/crypto.pass"
  cp -a "$REPO/examples/$name" "$fileroot"
  port=$(free_port)
  "$BIN" master --bind "127.0.0.1:$port" --keyroot "$keys" --fileroot "$fileroot" >"$WORK/$name-master.log" 2>&1 &
  MASTER_PID=$!
  unshare --mount --pid --fork --kill-child -- sh -c '
    root=$1 && shift &&
    mount -t proc proc "$root/proc" && mount -t sysfs sysfs "$root/sys" && mount --rbind /dev "$root/dev" &&
    exec chroot "$root" env SYSTEMCTL_LOG=/var/log/systemctl.log "$@"' sh "$root" \
    /usr/local/bin/salty agent "127.0.0.1:$port" --id "$id" --keyroot /etc/salty >"$WORK/$name-agent.log" 2>&1 &
  UNSHARE_PID=$!
  agent_pid() { AGENT_PID=$(awk -v p="$UNSHARE_PID" '$4 == p { print $1; exit }' /proc/[0-9]*/stat 2>/dev/null) && [[ -n $AGENT_PID ]]; }
  wait_for 10 "the agent process" agent_pid
  wait_for 30 "the agent's key to be pending" sh -c "'$BIN' keys list --keyroot '$keys' | grep -q '$id'"
  "$BIN" keys accept "$id" --keyroot "$keys" >/dev/null
  wait_for 30 "the agent to connect" sh -c "'$BIN' hosts --json --keyroot '$keys' | grep -q '\"$id\"'"

  local out=$WORK/$name
  # What the dry run may touch: the agent's own keyroot and logs, /tmp, apt's package cache (apt-cache rebuilds it while reading).
  local QUIET=(-not -path "$root/proc/*" -not -path "$root/etc/salty*" -not -path "$root/var/log/*" -not -path "$root/tmp*" -not -path "$root/var/cache/apt*")
  say "$name: apply --dry-run --diff"
  find "$root" -xdev -newer "$root/usr/local/bin/salty" "${QUIET[@]}" 2>/dev/null | sort >"$out.before"
  "$BIN" apply --dry-run --diff -vv --keyroot "$keys" target="$id" "$@" >"$out.dry" 2>&1 || { cat "$out.dry"; die "$name: the dry run failed"; }
  grep -q "^host:$id .*errors:0" "$out.dry" || { cat "$out.dry"; die "$name: the dry run reported errors"; }
  find "$root" -xdev -newer "$root/usr/local/bin/salty" "${QUIET[@]}" 2>/dev/null | sort >"$out.after"
  cmp -s "$out.before" "$out.after" || { diff "$out.before" "$out.after" | head; die "$name: the dry run changed the root"; }
  say "$name: apply"
  "$BIN" apply -vv --keyroot "$keys" target="$id" "$@" >"$out.first" 2>&1 || { cat "$out.first"; die "$name: the first apply failed"; }
  grep -q "^host:$id .*errors:0 changed:[1-9]" "$out.first" || { cat "$out.first"; die "$name: the first apply did not change the host without errors"; }
  say "$name: apply again"
  "$BIN" apply -vv --keyroot "$keys" target="$id" "$@" >"$out.second" 2>&1 || { cat "$out.second"; die "$name: the second apply failed"; }
  grep -q "^host:$id .*errors:0 changed:0$" "$out.second" || { cat "$out.second"; die "$name: the second apply changed something"; }
  ROOT=$root
}

in_root() { chroot "$ROOT" "$@"; }

for example in $EXAMPLES; do
  case $example in
    nginx-site)
      run_example nginx-site web1.example.test
      in_root nginx -t -q || die "nginx-site: nginx -t fails on what was applied"
      for site in www docs status; do [[ -s $ROOT/etc/nginx/sites-enabled/$site.conf ]] || die "nginx-site: no vhost $site"; done
      [[ ! -e $ROOT/etc/nginx/sites-enabled/default ]] || die "nginx-site: the default site is still enabled"
      grep -q '^reload nginx.service$' "$ROOT/var/log/systemctl.log" || die "nginx-site: nginx was not reloaded by its handler"
      ;;
    users)
      run_example users web1.example.test
      in_root id deploy | grep -q deployers || die "users: deploy is not in deployers"
      [[ $(stat -c %a "$ROOT/home/deploy/.ssh/authorized_keys") == 600 ]] || die "users: deploy's authorized_keys is not 0600"
      grep -q "alice@laptop" "$ROOT/home/alice/.ssh/authorized_keys" || die "users: alice's keys (from the .enc file) are not there"
      in_root visudo -c -q || die "users: visudo -c fails"
      ;;
    app-release)
      run_example app-release app1.example.test version=1.0.0 "sha256=$SHA" "url=http://127.0.0.1:$HTTP_PORT/app-1.0.0.tar.gz"
      [[ $(readlink "$ROOT/opt/app/current") == releases/1.0.0 ]] || die "app-release: current does not point at releases/1.0.0"
      [[ $(in_root /opt/app/current/bin/app --port 8080) == "app 1.0.0 on port 8080" ]] || die "app-release: the released app does not run"
      grep -q '^restart app.service$' "$ROOT/var/log/systemctl.log" || die "app-release: app was not restarted by its handler"
      ;;
    *) die "no example $example" ;;
  esac
  stop_pair
done
