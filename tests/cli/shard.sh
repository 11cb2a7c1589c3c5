#!/usr/bin/env bash
# `dcslab run --shard K/N` and `dcslab report merge` as a CI job runs them, with no lab:
# the slices `--list` shows for scenarios/upgrades cover the run once for N 1..5; a bad
# --shard exits 2 naming it; a shard with nothing to run brings nothing up and still
# writes its report; the merge refuses a run with shards missing, writing nothing.
# (The merge of real shards equals the unsharded run: harness/cli/shard_run_test.cc.)
set -euo pipefail
DCSLAB=${DCSLAB:?}
SRC=${DCSLAB_SOURCE_DIR:?}
fail() { echo "FAIL: $*" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export DCSLAB_HOME=$tmp/home
up=$SRC/scenarios/upgrades

# The scenarios a listing names (its lines that do not start with a blank or "shard").
names() { { grep -v -e '^ ' -e '^shard ' || true; } | cut -d' ' -f1 | sort; }

whole=$("$DCSLAB" run --list "$up" | names)
files=$(find "$up" -maxdepth 1 -name '*.yaml' | wc -l)
[ "$files" -ge 8 ] || fail "expected at least 8 scenario files in $up, found $files"
[ "$(wc -l <<<"$whole")" = "$files" ] || fail "expected $files scenarios in $up: $whole"
for n in 1 2 3 4 5; do
  all=""
  for k in $(seq 1 "$n"); do
    out=$("$DCSLAB" run --list --shard "$k/$n" "$up")
    [ "$out" = "$("$DCSLAB" run --list --shard "$k/$n" "$up")" ] || fail "$k/$n: not deterministic"
    grep -q "^shard $k/$n: " <<<"$out" || fail "$k/$n: no shard line: $out"
    all+=$(names <<<"$out")$'\n'
  done
  got=$({ grep -v '^$' <<<"$all" || true; } | sort)
  [ "$got" = "$whole" ] || fail "N=$n: the shards list"$'\n'"$got"$'\n'"not the run's"$'\n'"$whole"
done

for bad in 0/2 3/2 2 a/b 1/0; do
  set +e; err=$("$DCSLAB" run --list --shard "$bad" "$up" 2>&1); rc=$?; set -e
  [ "$rc" = 2 ] || fail "--shard $bad: exit $rc, expected 2"
  grep -q -- "--shard" <<<"$err" || fail "--shard $bad: the error does not name --shard: $err"
done

# 5 groups (the scenarios that require the same cluster share one: the plan says "8
# scenarios make 5 groups"): shard 6/6 is empty.
out=$("$DCSLAB" run --shard 6/6 "$up" --json "$tmp/s6.json")
grep -q "shard 6/6: empty" <<<"$out" || fail "shard 6/6: $out"
[ ! -e "$DCSLAB_HOME/labs" ] || fail "an empty shard made lab state"
grep -q '"index": 6' "$tmp/s6.json" || fail "the empty shard's report has no shard: $(cat "$tmp/s6.json")"

set +e; err=$("$DCSLAB" report merge -o "$tmp/merged" "$tmp/s6.json" 2>&1); rc=$?; set -e
[ "$rc" = 2 ] || fail "merge of one shard of 6: exit $rc"
grep -q "shards 1/6, 2/6, 3/6, 4/6, 5/6 missing" <<<"$err" || fail "merge: $err"
[ ! -e "$tmp/merged" ] || fail "a refused merge wrote $tmp/merged"

"$DCSLAB" help run | grep -q -- "--shard K/N" || fail "help run: no --shard"
"$DCSLAB" help report | grep -q "report merge" || fail "help report: no merge"
echo "ok: shards of $up for N 1..5, bad --shard, an empty shard, a refused merge"
