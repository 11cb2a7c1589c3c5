# shellcheck shell=bash
# Sourced by tests that read ../shared/histories/jepsen-etcd: prints that folder, found as
# the unit tests find it (DCSLAB_JEPSEN_HISTORIES, else beside the checkout or an
# ancestor of it), or nothing.
jepsen_histories_dir() {
  local src=$1 p
  if [ -n "${DCSLAB_JEPSEN_HISTORIES:-}" ]; then
    echo "$DCSLAB_JEPSEN_HISTORIES"
    return
  fi
  p=$(cd "$src/.." && pwd)
  while :; do
    if [ -f "$p/shared/histories/jepsen-etcd/verdicts.tsv" ]; then
      echo "$p/shared/histories/jepsen-etcd"
      return
    fi
    [ "$p" = / ] && return
    p=$(dirname "$p")
  done
}
