# Sourced by the tests that run salty in a Debian root of their own
# (fresh-host-test.sh, systemd-host-test.sh, examples-test.sh): logging, the
# cached debootstrap root, the tools they install with apt, a free port and a
# bounded wait. Each script sets LABEL, STARTED, CACHE and SUITE before sourcing
# it, and defines watched() (the PIDs a wait gives up on when they exit).

say() { printf '[%s %3ds] %s\n' "$LABEL" $((SECONDS - STARTED)) "$*" >&2; }
die() { say "FAIL: $*"; exit 1; }

# Running and not a zombie (bash reaps its children in the background: read once).
alive() { local st; st=$(cat "/proc/$1/stat" 2>/dev/null) && [[ $st != *") Z "* ]]; }

# TERM, up to 10 s to exit, then KILL. unshare blocks TERM while it waits for
# its child, so the agent (its child, PID 1 of the namespace, which handles
# TERM) is signalled; KILLing unshare takes the whole namespace down (--kill-child).
stop() { # pid-to-signal pid-to-reap
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 50); do alive "$2" || break; sleep 0.2; done
  alive "$2" && { say "$2 did not stop on TERM: KILL"; kill -KILL "$2" 2>/dev/null || true; }
  wait "$2" 2>/dev/null || true
}

# The first non-security Debian mirror of this machine's apt sources.
debian_mirror() {
  [[ -n ${SALTY_DEBIAN_MIRROR:-} ]] && { echo "$SALTY_DEBIAN_MIRROR"; return; }
  local url
  url=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' | grep -v security | head -n 1 || true)
  [[ -z $url ]] && url=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; break } }' | grep -v security | head -n 1 || true)
  echo "${url:-http://deb.debian.org/debian}"
}

# A tool of the host, installed from Debian's packages when missing.
ensure_tool() { # command package
  command -v "$1" >/dev/null && return
  say "installing $2"
  local install=(apt-get install -y --no-install-recommends "$2")
  mkdir -p "$CACHE"
  DEBIAN_FRONTEND=noninteractive "${install[@]}" >"$CACHE/apt.log" 2>&1 ||
    { apt-get update >>"$CACHE/apt.log" 2>&1 && DEBIAN_FRONTEND=noninteractive "${install[@]}" >>"$CACHE/apt.log" 2>&1; } ||
    { tail -n 5 "$CACHE/apt.log"; die "apt-get install $2 failed"; }
}

# A TCP port nobody listens on, from the kernel's own tables.
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 40000))
    grep -qi ":$(printf '%04X' "$port") [0-9A-F:]* 0A " /proc/net/tcp /proc/net/tcp6 2>/dev/null || { echo "$port"; return; }
  done
}

# A pristine root, built once per NAME; a half-built one is never reused.
# CHECK: a path that exists only in a complete root; INCLUDE: extra packages (comma list).
cached_root() { # name check [include]
  local root=$CACHE/$SUITE-$1 include=${3:-}
  if [[ ! -e $root/$2 ]]; then
    ensure_tool debootstrap debootstrap
    local mirror
    mirror=$(debian_mirror)
    say "debootstrap --variant=minbase ${include:+--include=$include }$SUITE from $mirror (once; cached in $root)"
    rm -rf --one-file-system "$root.partial"
    mkdir -p "$CACHE"
    debootstrap --variant=minbase ${include:+"--include=$include"} "$SUITE" "$root.partial" "$mirror" >"$CACHE/debootstrap-$1.log" 2>&1 ||
      { tail -n 20 "$CACHE/debootstrap-$1.log"; die "debootstrap failed"; }
    mv "$root.partial" "$root"
  fi
  echo "$root"
}

wait_for() { # seconds description command...
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "timed out waiting for $what"
    for pid in $(watched); do alive "$pid" || die "a process this test started exited while waiting for $what"; done
    sleep 0.2
  done
}
