#!/usr/bin/env bash
# `dcslab run --parallel 2` on nspawn: scenarios/smoke.yaml and fixtures/e2e/from-state.yaml
# (which requires from-setup) do not require each other, so they run at the same time on
# two labs of their own, <lab>-1 and <lab>-2, each in its own network namespace with the
# same addresses; one merged JUnit report; both labs gone at the end. nspawn keeps no
# memory state, so from-state's `from:` falls back to running its requires, with one line.
# Network safety: each lab is a child `dcslab --isolated run`: its addresses live only in
# the network namespace dcslab creates for it (dcslab-<lab>-<i>) and deletes at down.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd systemd-nspawn mmdebstrap ip python3

name=e2e-flpar
E2E_LAB=(--lab "$SEED_LAB" --name "$name" --provider nspawn)
# The run's labs, <name>-1 and <name>-2.
group_lab() { "$DCSLAB" --lab "$SEED_LAB" --name "$name-$1" --provider nspawn "${@:2}"; }
out=$(mktemp -d)
cleanup() {
  if [ -n "${watch_pid:-}" ]; then kill "$watch_pid" 2>/dev/null || true; fi
  for i in 1 2; do group_lab "$i" down >/dev/null 2>&1 || true; done
  rm -rf "$out"
}
trap cleanup EXIT
for i in 1 2; do group_lab "$i" down >/dev/null 2>&1 || true; done
"$DCSLAB" "${E2E_LAB[@]}" image build >/dev/null

step "two independent groups on two labs at once"
# Which of the two namespaces exist, every 0.2 s: both at once proves the labs overlapped.
( while :; do
    seen=$(ip netns list | grep -o "dcslab-$name-[12]" | sort | tr '\n' ' ') || true  # none: ""
    echo "$seen"
    sleep 0.2
  done ) >"$out/netns.log" 2>/dev/null &
watch_pid=$!
start=$(date +%s.%N)
set +e
"$DCSLAB" "${E2E_LAB[@]}" run --parallel 2 "$SRC/scenarios/smoke.yaml" "$SRC/fixtures/e2e/from-state.yaml" \
  --junit "$out/run.xml" --artifacts "$out/artifacts" >"$out/run.log" 2>&1
rc=$?
set -e
seconds=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
kill "$watch_pid"; watch_pid=
cat "$out/run.log"
expect_eq "exit status" "$rc" 0
echo "parallel run, two labs up, run and down: ${seconds}s"

grep -q "^2 scenarios on 2 labs:$" "$out/run.log" || fail "no plan line"
grep -qE "^  $name-[12]: smoke$" "$out/run.log" || fail "smoke is not alone on a lab"
grep -qE "^  $name-[12]: from-state$" "$out/run.log" || fail "from-state is not alone on a lab"
for i in 1 2; do grep -q "^\[$name-$i\] " "$out/run.log" || fail "no line from lab $name-$i"; done
grep -q "dcslab-$name-1 dcslab-$name-2 " "$out/netns.log" || fail "the two labs never existed at once"
echo "ok: both labs' namespaces existed at the same time"

fallback="from from-ready: no lab snapshots here (nspawn machines have no memory snapshots; use provider libvirt); its requires ran as usual"
expect_eq "fallback lines" "$(grep -cF -- "$fallback" "$out/run.log")" 1

{ read -r suites tests failures _; read -r names; } < <(junit_summary "$out/run.xml")
expect_eq "merged JUnit testsuites" "$(echo "$names" | tr ' ' '\n' | sort | tr '\n' ' ')" "from-setup from-state smoke "
expect_eq "merged JUnit failures" "$failures" 0
[ "$tests" -ge 15 ] || fail "merged JUnit has only $tests testcases"
for i in 1 2; do [ -f "$out/artifacts/$name-$i/report.json" ] || fail "no artifacts of lab $name-$i"; done
echo "ok: one report of $suites testsuites, $tests testcases; each lab's artifacts beside it"

for i in 1 2; do expect_nothing_left "$name-$i"; done
echo "PASS parallel_run_nspawn"
