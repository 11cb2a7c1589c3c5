#!/usr/bin/env bash
# tests/lint/scenarios_in_ci.sh on a scratch tree: a scenario no end-to-end test reaches
# is named and fails the check; one reached by name, by its folder, or through the
# requires of one that is reached passes.
set -euo pipefail
SRC=${DCSLAB_SOURCE_DIR:?DCSLAB_SOURCE_DIR must point at the source tree}
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir -p "$tree/tests/e2e" "$tree/scenarios/up" "$tree/scenarios/seed" "$tree/fixtures/e2e"
printf 'name: a\nsteps: []\n' >"$tree/scenarios/seed/10-a.yaml"
printf 'name: b\nrequires: [10-a.yaml]\nsteps: []\n' >"$tree/scenarios/seed/20-b.yaml"
printf 'name: c\nrequires: [../seed/20-b.yaml]\nsteps: []\n' >"$tree/scenarios/up/30-c.yaml"
printf 'name: d\nrequires: [../seed/10-a.yaml]\nsteps: []\n' >"$tree/scenarios/up/40-d.yaml"
printf 'name: e\nrequires: [../../scenarios/up/40-d.yaml]\nsteps: []\n' >"$tree/fixtures/e2e/e.yaml"
# 30-c by its number-name (which reaches 20-b and 10-a); 40-d by nothing yet.
cat >"$tree/tests/e2e/one.sh" <<'SH'
paths=(30-c)
"$DCSLAB" run "$SRC/scenarios/upp/$p.yaml"
SH

set +e
got=$(bash "$SRC/tests/lint/scenarios_in_ci.sh" "$tree" 2>&1)
rc=$?
set -e
[ "$rc" = 1 ] || fail "exit status $rc with a scenario no test runs: $got"
[ "$(grep -c '^no end-to-end test runs' <<<"$got")" = 1 ] || fail "not exactly one scenario named: $got"
grep -qx 'no end-to-end test runs scenarios/up/40-d.yaml' <<<"$got" || fail "40-d not named: $got"
grep -qx '4 scenarios, 3 run by tests/e2e' <<<"$got" || fail "wrong count: $got"
echo "ok: the unreached scenario is named: $got"

# Reached through a fixture a test names, which requires it. (The scratch tests' lines
# are literal: nothing in them is expanded.)
# shellcheck disable=SC2016
echo '"$DCSLAB" run "$SRC/fixtures/e2e/e.yaml"' >"$tree/tests/e2e/two.sh"
bash "$SRC/tests/lint/scenarios_in_ci.sh" "$tree" || fail "40-d, required by a fixture a test runs, was not counted"
# Or by its folder.
# shellcheck disable=SC2016
printf '"$DCSLAB" run "$SRC/scenarios/up" --down\n' >"$tree/tests/e2e/two.sh"
bash "$SRC/tests/lint/scenarios_in_ci.sh" "$tree" || fail "the folder run was not counted"
echo "PASS scenarios_in_ci_fails"
