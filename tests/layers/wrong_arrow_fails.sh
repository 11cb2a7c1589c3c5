#!/usr/bin/env bash
# The layer check must fail on a wrong arrow: a copy of harness/ whose base/ includes
# run/ (and whose ssh/ uses libvirt) is refused, naming the file and line; the real tree
# passes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=${DCSLAB_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 "$here/check_layers.py" "$src/harness"

cp -r "$src/harness" "$tmp/harness"
printf '#include "run/runner.h"\n' >>"$tmp/harness/base/text.cc"
printf '#include <libvirt/libvirt.h>\n' >>"$tmp/harness/ssh/keys.cc"
if python3 "$here/check_layers.py" "$tmp/harness" 2>"$tmp/err"; then
  echo "FAIL: the check passed a tree where base/ includes run/" >&2
  exit 1
fi
grep -q '^base/text.cc:[0-9]*: layer base includes run ("run/runner.h")' "$tmp/err" || {
  echo "FAIL: no error naming base/text.cc and its line:" >&2; cat "$tmp/err" >&2; exit 1; }
grep -q '^ssh/keys.cc:[0-9]*: layer ssh uses <libvirt/libvirt.h> (libvirt)' "$tmp/err" || {
  echo "FAIL: no error naming ssh/keys.cc's libvirt include:" >&2; cat "$tmp/err" >&2; exit 1; }
echo "ok: wrong arrows refused, the tree passes"
