#!/usr/bin/env bash
# dcslab(1) (docs/dcslab.1) against the command table (harness/cli/commands.cc): every
# command of the table has a .SS of its own and every .SS of COMMANDS names a command of
# the table; and man renders the page without a warning (groff's warnings go to stderr).
# A copy with a command missing and an unknown request proves both checks fail.
set -euo pipefail

src=${DCSLAB_SOURCE_DIR:?}
page=$src/docs/dcslab.1
table=$src/harness/cli/commands.cc

command -v man >/dev/null || { echo "SKIP: man (man-db) is not installed"; exit 77; }

table_commands() {
  grep -oE '^[[:space:]]*\{"[^"]*", \{"[a-z][a-z-]*"' "$table" | sed -E 's/.*\{"([a-z-]+)"$/\1/' | sort
}
# The subsections of COMMANDS, with roff's \- read as -.
page_commands() {
  sed -n '/^\.SH COMMANDS/,/^\.SH /p' "$1" | sed -n 's/^\.SS //p' | sed 's/\\-/-/g' | sort
}
# Prints groff's warnings and man's errors; nothing for a clean page.
render_warnings() {
  { LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings=w -E UTF-8 -l "$1" >/dev/null; } 2>&1
}

check() {
  local page=$1 ok=0 missing extra warnings
  missing=$(comm -23 <(table_commands) <(page_commands "$page"))
  extra=$(comm -13 <(table_commands) <(page_commands "$page"))
  if [ -n "$missing" ]; then echo "commands missing from $page: $missing"; ok=1; fi
  if [ -n "$extra" ]; then echo "$page names commands that do not exist: $extra"; ok=1; fi
  warnings=$(render_warnings "$page")
  if [ -n "$warnings" ]; then echo "man -l $page warns: $warnings"; ok=1; fi
  return $ok
}

n=$(table_commands | wc -l)
[ "$n" -ge 15 ] || { echo "FAIL: read only $n commands from $table"; exit 1; }
check "$page" || { echo "FAIL"; exit 1; }
echo "ok: $n commands, each in dcslab(1); renders without warnings"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed '/^\.SS proxy$/d' "$page" >"$tmp/missing.1"
sed 's/^\.SS down$/.SS downn/' "$page" >"$tmp/extra.1"
sed 's/^\.SH EXIT STATUS$/.XYZZY\n&/' "$page" >"$tmp/warn.1"
for bad in missing extra warn; do
  if out=$(check "$tmp/$bad.1"); then
    echo "FAIL: the check passes a page with a fault ($bad)"; exit 1
  fi
  echo "ok: fails on $bad: $out" | head -2
done
