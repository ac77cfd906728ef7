#!/bin/sh
# A recorded systemctl for tests on machines without systemd: `show` answers
# from units-table.txt beside it (UNIT LOAD ACTIVE UNIT-FILE-STATE; a unit not
# in it is not-found), every other call is appended to $SYSTEMCTL_LOG.
table="$(dirname "$(readlink -f "$0")")/units-table.txt"
[ -n "$SYSTEMCTL_TABLE" ] && table=$SYSTEMCTL_TABLE
if [ "$1" = show ]; then
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do shift; done
  [ $# -gt 0 ] && shift
  first=1
  for u in "$@"; do
    [ $first = 1 ] || echo
    first=0
    awk -v u="$u" '$1 == u { print "Id=" $1 "\nLoadState=" $2 "\nActiveState=" $3 "\nUnitFileState=" $4; f = 1 }
      END { if (!f) print "Id=" u "\nLoadState=not-found\nActiveState=inactive\nUnitFileState=" }' "$table"
  done
  exit 0
fi
[ -n "$SYSTEMCTL_LOG" ] && echo "$*" >> "$SYSTEMCTL_LOG"
exit 0
