#!/usr/bin/env bash
# The history timeline in a real browser: `dcslab check history --html` draws a Jepsen
# history that is not linearizable, one that is, and a dcslab writer history with a lost
# write; Debian's Chromium, headless, opens each page offline and its DOM after the
# page's script ran must show what the history holds: one lane per client (counted here
# from the log itself, not from dcslab), one bar per operation, the findings, the failing
# prefix and where it fails. Chromium runs in a network namespace of its own with no
# link but a downed loopback, so nothing it might try reaches any network.
set -euo pipefail
DCSLAB=${DCSLAB:?}
SRC=${DCSLAB_SOURCE_DIR:?}
fail() { echo "FAIL: $*" >&2; exit 1; }
# shellcheck source=tests/cli/shared_histories.sh
. "$(dirname "$0")/shared_histories.sh"
# shellcheck source=tests/cli/browser.sh
. "$(dirname "$0")/browser.sh"
dir=$(jepsen_histories_dir "$SRC")
[ -n "$dir" ] || fail "no shared/histories/jepsen-etcd/verdicts.tsv beside $SRC; set DCSLAB_JEPSEN_HISTORIES"
command -v chromium >/dev/null || fail "chromium is not installed (scripts/install-deps installs it)"
[ "$(id -u)" = 0 ] || fail "needs root: chromium runs in a network namespace of its own (unshare --net)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export DCSLAB_HOME=$tmp/home

render() { render_dom "$1" "$tmp/browser" || fail "$1 not rendered"; }

not_lin=$(awk '$2 == "not-linearizable" {print $1; exit}' "$dir/verdicts.tsv")
lin=$(awk '$2 == "linearizable" {print $1; exit}' "$dir/verdicts.tsv")
set +e
"$DCSLAB" check history --html "$tmp/pages" "$dir/$not_lin" "$dir/$lin" \
  "$SRC/fixtures/histories/lost-write.json" >"$tmp/check.txt" 2>&1
rc=$?
set -e
[ "$rc" = 1 ] || fail "check history: exit $rc, not 1: $(cat "$tmp/check.txt")"
for f in "$not_lin" "$lin" lost-write.json; do
  grep -q "^timeline: $tmp/pages/$f.html$" "$tmp/check.txt" || fail "no timeline line for $f: $(cat "$tmp/check.txt")"
done

for f in "$not_lin" "$lin"; do
  dom=$(render "$tmp/pages/$f.html")
  [ "$(body_attr "$dom" data-drawn)" = yes ] || fail "$f: the page's script did not finish drawing"
  # What the log holds, counted from the log: its processes and its invocations.
  want_lanes=$(awk -F'\t' '/jepsen.util/ { split($1, a, " - "); print a[2] }' "$dir/$f" | sort -u | wc -l)
  want_ops=$(grep -c $'\t:invoke\t' "$dir/$f")
  [ "$(body_attr "$dom" data-lanes)" = "$want_lanes" ] ||
    fail "$f: drew $(body_attr "$dom" data-lanes) lanes, the log has $want_lanes processes"
  [ "$(body_attr "$dom" data-ops)" = "$want_ops" ] ||
    fail "$f: drew $(body_attr "$dom" data-ops) operations, the log invokes $want_ops"
  drawn_lanes=$(grep -o '<g class="lane"' <<<"$dom" | wc -l)
  drawn_ops=$(grep -o '<rect class="op ' <<<"$dom" | wc -l)
  if [ "$drawn_lanes" != "$want_lanes" ] || [ "$drawn_ops" != "$want_ops" ]; then
    fail "$f: the SVG holds $drawn_lanes lanes and $drawn_ops bars"
  fi
  echo "ok: $f drawn in Chromium: $drawn_lanes lanes, $drawn_ops operations"
done

dom=$(render "$tmp/pages/$not_lin.html")
[ "$(body_attr "$dom" data-findings)" -ge 1 ] || fail "$not_lin: no finding listed"
grep -q '<rect class="op [a-z]* [a-z]* prefix last[ "]' <<<"$dom" || fail "$not_lin: where it fails is not marked"
[ "$(grep -o 'class="op [a-z]* [a-z]* prefix' <<<"$dom" | wc -l)" -ge 2 ] || fail "$not_lin: no failing prefix outlined"
grep -q 'id="verdict" class="bad">not linearizable' <<<"$dom" || fail "$not_lin: the verdict is not shown as bad"
dom=$(render "$tmp/pages/$lin.html")
[ "$(body_attr "$dom" data-findings)" = 0 ] || fail "$lin: findings on a linearizable history"
! grep -q 'prefix' <<<"$(grep -o '<rect class="op[^"]*"' <<<"$dom")" || fail "$lin: a prefix marked"
echo "ok: the failing prefix and where it fails are marked, and only on the bad history"

dom=$(render "$tmp/pages/lost-write.json.html")
[ "$(body_attr "$dom" data-drawn)" = yes ] || fail "lost-write.json: not drawn"
want_ops=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["ops"]))' "$SRC/fixtures/histories/lost-write.json")
[ "$(body_attr "$dom" data-ops)" = "$want_ops" ] || fail "lost-write.json: drew $(body_attr "$dom" data-ops) of $want_ops ops"
[ "$(body_attr "$dom" data-findings)" -ge 1 ] || fail "lost-write.json: the lost write is not listed"
echo "ok: a dcslab history with a lost write drawn, its finding listed"
