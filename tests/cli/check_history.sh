#!/usr/bin/env bash
# `dcslab check history` as a user runs it: every Jepsen etcd history with a published
# verdict (read from ../shared, never copied here) gets the exit status of its verdict;
# the anomaly corpus's files theirs; an unreadable file exit 2 naming FILE:LINE; a budget
# too small to decide, exit 4 and "undecided"; nothing of it needs a lab.
set -euo pipefail
DCSLAB=${DCSLAB:?}
SRC=${DCSLAB_SOURCE_DIR:?}
fail() { echo "FAIL: $*" >&2; exit 1; }

# The histories' folder, as the unit tests find it: beside the checkout or an ancestor.
# shellcheck source=tests/cli/shared_histories.sh
. "$(dirname "$0")/shared_histories.sh"
dir=$(jepsen_histories_dir "$SRC")
[ -n "$dir" ] || fail "no shared/histories/jepsen-etcd/verdicts.tsv beside $SRC; set DCSLAB_JEPSEN_HISTORIES"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export DCSLAB_HOME=$tmp/home

n=0 lin=0
while read -r file want; do
  [ -n "$file" ] || continue
  set +e; out=$("$DCSLAB" check history --format jepsen "$dir/$file" 2>&1); rc=$?; set -e
  case $want in
    linearizable) [ "$rc" = 0 ] || fail "$file: published linearizable, exit $rc: $out"; lin=$((lin + 1)) ;;
    not-linearizable)
      [ "$rc" = 1 ] || fail "$file: published not linearizable, exit $rc: $out"
      grep -q "prefix" <<<"$out" || fail "$file: no failing prefix in the report: $out" ;;
    *) fail "verdicts.tsv: unknown verdict '$want' for $file" ;;
  esac
  n=$((n + 1))
done <"$dir/verdicts.tsv"
[ "$n" = 52 ] || fail "expected 52 published verdicts, read $n"
echo "ok: $n Jepsen histories, $lin linearizable, each with its published verdict"

# Several files at once: one not linearizable makes the whole exit 1.
first_lin=$(awk '$2 == "linearizable" {print $1; exit}' "$dir/verdicts.tsv")
first_not=$(awk '$2 == "not-linearizable" {print $1; exit}' "$dir/verdicts.tsv")
set +e; "$DCSLAB" check history "$dir/$first_lin" "$dir/$first_not" >"$tmp/two.txt" 2>&1; rc=$?; set -e
[ "$rc" = 1 ] || fail "a linearizable and a non-linearizable history: exit $rc"
[ "$(wc -l <"$tmp/two.txt")" -ge 2 ] || fail "one verdict per file expected: $(cat "$tmp/two.txt")"

# dcslab's own history JSON (format detected): the corpus's clean history and an anomaly.
"$DCSLAB" check history "$SRC/fixtures/histories/clean.json" >/dev/null ||
  fail "fixtures/histories/clean.json is linearizable"
set +e; "$DCSLAB" check history "$SRC/fixtures/histories/lost-write.json" >/dev/null; rc=$?; set -e
[ "$rc" = 1 ] || fail "fixtures/histories/lost-write.json: exit $rc, not 1"
echo "ok: the corpus's clean history passes and its lost write fails"

# Unreadable input: exit 2, the file and line named, before any verdict is printed.
printf 'INFO  jepsen.util - 0\t:invoke\t:write\t1\nINFO  jepsen.util - 0\t:ok\t:frobnicate\t1\n' >"$tmp/bad.log"
set +e; out=$("$DCSLAB" check history "$dir/$first_lin" "$tmp/bad.log" 2>&1); rc=$?; set -e
[ "$rc" = 2 ] || fail "a malformed Jepsen log: exit $rc, not 2: $out"
grep -q "bad.log:2" <<<"$out" || fail "the error does not name bad.log:2: $out"
! grep -q "ops)" <<<"$out" || fail "a verdict was printed before the bad input stopped the command: $out"
set +e; out=$("$DCSLAB" check history --format xml "$dir/$first_lin" 2>&1); rc=$?; set -e
[ "$rc" = 2 ] || fail "--format xml: exit $rc, not 2: $out"
set +e; out=$("$DCSLAB" check history "$tmp/missing.json" 2>&1); rc=$?; set -e
[ "$rc" = 2 ] || fail "a missing file: exit $rc, not 2: $out"
touch "$tmp/not-a-folder"
set +e; out=$("$DCSLAB" check history --html "$tmp/not-a-folder" "$dir/$first_lin" 2>&1); rc=$?; set -e
[ "$rc" = 2 ] || fail "--html onto a file: exit $rc, not 2: $out"
grep -q -- "--html $tmp/not-a-folder" <<<"$out" || fail "the error does not name --html's folder: $out"
echo "ok: unreadable input exits 2 naming the file"

# A budget too small to decide: a history of 40,000 writes and reads from 4 processes
# takes the search far longer than 1 ms, so the verdict is undecided (exit 4), never "pass".
awk 'BEGIN { for (i = 0; i < 10000; i++) for (p = 0; p < 4; p++) {
  v = i * 4 + p
  printf "INFO  jepsen.util - %d\t:invoke\t:write\t%d\n", p, v
  printf "INFO  jepsen.util - %d\t:ok\t:write\t%d\n", p, v
  printf "INFO  jepsen.util - %d\t:invoke\t:read\tnil\n", p
  printf "INFO  jepsen.util - %d\t:ok\t:read\t%d\n", p, v } }' >"$tmp/long.log"
"$DCSLAB" check history "$tmp/long.log" >/dev/null || fail "the long sequential history is linearizable"
set +e; out=$("$DCSLAB" check history --budget 1ms "$tmp/long.log" 2>&1); rc=$?; set -e
[ "$rc" = 4 ] || fail "the long history with a 1 ms budget: exit $rc, not 4: $out"
grep -qi "undecided" <<<"$out" || fail "the report does not say undecided: $out"
echo "ok: a budget too small gives undecided (exit 4)"
[ ! -e "$tmp/home" ] || fail "check history created lab state in $tmp/home"
