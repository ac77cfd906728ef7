#!/bin/sh
# A recorded systemctl for tests on machines without systemd: `show` answers
# from units-table.txt beside it (UNIT LOAD ACTIVE UNIT-FILE-STATE; a unit not
# in it is not-found), every other call is appended to $SYSTEMCTL_LOG.
table=${SYSTEMCTL_TABLE:-"$(dirname "$(readlink -f "$0")")/units-table.txt"}
if [ "$1" = show ]; then
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do shift; done
  [ $# -gt 0 ] && shift
  first=1
  for u in "$@"; do
    [ $first = 1 ] || echo
    first=0
    # The shell's own loop, no awk per unit: one process per `show`, as a real systemctl is.
    found=0
    while read -r id load active file _; do
      [ "$id" = "$u" ] || continue
      printf 'Id=%s\nLoadState=%s\nActiveState=%s\nUnitFileState=%s\n' "$id" "$load" "$active" "$file"
      found=1
    done <"$table"
    [ $found = 1 ] || printf 'Id=%s\nLoadState=not-found\nActiveState=inactive\nUnitFileState=\n' "$u"
  done
  exit 0
fi
[ -n "$SYSTEMCTL_LOG" ] && echo "$*" >> "$SYSTEMCTL_LOG"
exit 0
