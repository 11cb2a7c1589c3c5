#!/usr/bin/env bash
# Every shell script of the repository passes shellcheck (its settings: .shellcheckrc).
# The scripts are found, not listed: each file git knows of (tracked, or new and not
# ignored) whose name ends in .sh or .bash, whose first line is a sh/bash/dash shebang,
# or which says `# shellcheck shell=...` in its first lines (a sourced library). So a
# new script is checked from its first commit on.
#   tests/lint/shellcheck.sh [REPO]        (default: the source tree, $DCSLAB_SOURCE_DIR)
# Exit 0: clean; 1: findings (printed, file:line:column); 77: no shellcheck (a skip,
# a failure in CI, which installs it through scripts/install-deps).
set -euo pipefail
repo=${1:-${DCSLAB_SOURCE_DIR:?DCSLAB_SOURCE_DIR must point at the source tree}}

if ! command -v shellcheck >/dev/null; then
  if [ "${CI:-}" = "true" ]; then
    echo "FAIL: no shellcheck in CI, which must provide it (scripts/install-deps)" >&2
    exit 1
  fi
  echo "SKIP: needs shellcheck (scripts/install-deps installs it)" >&2
  exit 77
fi

# is_shell FILE: a shell script by its name, its shebang or a shellcheck shell directive.
is_shell() {
  case "$1" in *.sh | *.bash) return 0 ;; esac
  local first=""
  IFS= read -r first <"$1" || [ -n "$first" ] || return 1
  case "$first" in
    '#!'*) [[ "$first" =~ ^#![[:space:]]*[^[:space:]]*/(env[[:space:]]+)?(ba|da|k|)sh([[:space:]]|$) ]] ;;
    *) head -n 5 "$1" | grep -qE '^#[[:space:]]*shellcheck[[:space:]]+shell=' ;;
  esac
}

cd "$repo"
git rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
  { echo "FAIL: $repo is not a git checkout (the scripts are found by git ls-files)" >&2; exit 1; }
scripts=()
while IFS= read -r -d '' f; do
  if [ ! -f "$f" ] || [ -L "$f" ]; then continue; fi  # deleted in the work tree, or a link
  if is_shell "$f"; then scripts+=("$f"); fi
done < <(git ls-files -z --cached --others --exclude-standard | sort -z)
[ ${#scripts[@]} -gt 0 ] || { echo "FAIL: no shell script found under $repo" >&2; exit 1; }

if findings=$(shellcheck --format=gcc "${scripts[@]}" 2>&1); then
  echo "ok: shellcheck $(shellcheck --version | sed -n 's/^version: //p') finds nothing in ${#scripts[@]} scripts:"
  printf '  %s\n' "${scripts[@]}"
  exit 0
fi
echo "$findings"
echo "FAIL: shellcheck: $(grep -c ': \(error\|warning\|note\|info\|style\):' <<<"$findings") findings in" \
  "$(grep -oE '^[^:]+:[0-9]+:' <<<"$findings" | cut -d: -f1 | sort -u | wc -l) of ${#scripts[@]} scripts" \
  "(fix them; a '# shellcheck disable=SCxxxx' only with a comment saying why it is right there)" >&2
exit 1
