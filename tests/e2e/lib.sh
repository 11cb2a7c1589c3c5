# Shared by the end-to-end tests. Each test makes a lab file of its own (a unique lab
# name, so nothing collides with a user's labs), runs the lab isolated in a network
# namespace that dcslab creates, and checks afterwards that nothing the lab made is left.
set -euo pipefail

DCSLAB=${DCSLAB:?DCSLAB must point at the dcslab binary}
SRC=${DCSLAB_SOURCE_DIR:?DCSLAB_SOURCE_DIR must point at the source tree}
export DCSLAB_HOME=${DCSLAB_HOME:-$HOME/.local/share/dcslab}

# Exit status 77 makes ctest report a skip. In CI a skip is a failure: CI must provide
# what the test needs.
skip() {
  if [ "${CI:-}" = "true" ]; then
    echo "FAIL: would skip in CI, which must provide it: $*" >&2
    exit 1
  fi
  echo "SKIP: $*" >&2
  exit 77
}

require_root() { [ "$(id -u)" = 0 ] || skip "needs root (network namespaces, libvirtd, nspawn)"; }
require_cmd() {
  for c in "$@"; do
    command -v "$c" >/dev/null || skip "needs $c (scripts/install-deps installs it)"
  done
}

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "--- $*"; }

# make_lab NAME PROVIDER: writes the seed's lab under another name, with PROVIDER.
make_lab() {
  local name=$1 provider=$2 file
  file=$(mktemp /tmp/dcslab-e2e-XXXXXX.yaml)
  sed -e "s/^name: dcs$/name: $name/" -e "s/^  type: libvirt$/  type: $provider/" \
    "$SRC/fixtures/labs/dcs.yaml" >"$file"
  grep -q "^name: $name$" "$file" || fail "could not make lab file $file"
  echo "$file"
}

# expect_eq WHAT ACTUAL EXPECTED
expect_eq() {
  [ "$2" = "$3" ] || fail "$1: expected '$3', got '$2'"
  echo "ok: $1 = $3"
}

# Nothing of lab NAME may remain: state, namespace, processes, mounts.
expect_nothing_left() {
  local name=$1
  [ ! -e "$DCSLAB_HOME/labs/$name" ] || fail "state folder $DCSLAB_HOME/labs/$name left behind"
  ! ip netns list | grep -qw "dcslab-$name" || fail "network namespace dcslab-$name left behind"
  ! grep -q "/labs/$name/" /proc/mounts || fail "mounts of lab $name left: $(grep "/labs/$name/" /proc/mounts)"
  if pgrep -af -- "/labs/$name/" >/dev/null; then
    fail "processes of lab $name left: $(pgrep -af -- "/labs/$name/")"
  fi
  echo "ok: nothing of lab $name is left"
}
