#!/usr/bin/env bash
# tests/lint/shellcheck.sh finds the shell scripts by name, shebang and shellcheck
# directive (and nothing else), and fails with their findings: run on a scratch
# repository of a few files, first with findings, then fixed.
set -euo pipefail
SRC=${DCSLAB_SOURCE_DIR:?DCSLAB_SOURCE_DIR must point at the source tree}
command -v shellcheck >/dev/null || {
  [ "${CI:-}" != "true" ] || { echo "FAIL: no shellcheck in CI (scripts/install-deps)" >&2; exit 1; }
  echo "SKIP: needs shellcheck" >&2; exit 77
}
repo=$(mktemp -d)
trap 'rm -rf "$repo"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

git -C "$repo" init -q
mkdir "$repo/bin"
# A script by its shebang alone (no extension), tracked, with a finding (SC2086).
cat >"$repo/bin/tool" <<'SH'
#!/bin/sh
echo $1
SH
git -C "$repo" add bin/tool
# A sourced library by its directive, new (untracked), with a finding (SC2034).
cat >"$repo/helpers" <<'SH'
# shellcheck shell=bash
# helpers
unused=1
SH
# By its extension, clean.
printf 'echo "ok"\n' >"$repo/ok.bash"
# Not shell: python, and a file with "sh" in a shebang-like word; ignored ones too.
cat >"$repo/tool.py" <<'PY'
#!/usr/bin/env python3
if x = $1 ]
PY
cat >"$repo/fishy" <<'FISH'
#!/usr/bin/fish
echo $1 (
FISH
printf 'build/\n' >"$repo/.gitignore"
mkdir "$repo/build"
cp "$repo/bin/tool" "$repo/build/generated.sh"

set +e
out=$(bash "$SRC/tests/lint/shellcheck.sh" "$repo" 2>&1)
rc=$?
set -e
echo "$out"
[ "$rc" = 1 ] || fail "exit $rc with findings, not 1"
grep -q '^bin/tool:2:6: .*\[SC2086\]' <<<"$out" || fail "the shebang-only script's finding is not reported"
grep -q '^helpers:3:1: .*\[SC2034\]' <<<"$out" || fail "the directive-only library's finding is not reported"
grep -q 'findings in 2 of 3 scripts' <<<"$out" || fail "the summary does not count 2 of 3 scripts"
! grep -qE 'tool\.py|fishy|build/' <<<"$out" || fail "a file that is not a (tracked or new) shell script was checked"

cat >"$repo/bin/tool" <<'SH'
#!/bin/sh
echo "$1"
SH
sed -i 's/^unused=1$/export used=1/' "$repo/helpers"
out=$(bash "$SRC/tests/lint/shellcheck.sh" "$repo" 2>&1) || fail "exit $? once fixed: $out"
expect=$'  bin/tool\n  helpers\n  ok.bash'
[ "$(grep '^  ' <<<"$out")" = "$expect" ] || fail "the scripts checked: $out"
echo "ok: shellcheck.sh checks exactly the three shell scripts, fails with their findings, passes once fixed"
