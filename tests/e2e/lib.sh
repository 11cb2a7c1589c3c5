# shellcheck shell=bash
# Shared by the end-to-end tests. Each test runs the seed's lab under a name of its own
# (dcslab's --name, so nothing collides with a user's labs) on the provider it tests
# (--provider), isolated in a network namespace that dcslab creates, and checks
# afterwards that nothing the lab made is left.
set -euo pipefail

DCSLAB=${DCSLAB:?DCSLAB must point at the dcslab binary}
SRC=${DCSLAB_SOURCE_DIR:?DCSLAB_SOURCE_DIR must point at the source tree}
export DCSLAB_HOME=${DCSLAB_HOME:-$HOME/.local/share/dcslab}
# The seed's lab file, which every test's lab is made from.
SEED_LAB=$SRC/fixtures/labs/dcs.yaml

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

# e2e_lab NAME PROVIDER [YAML-LINE...]: dcslab's global options for lab NAME (the seed's
# lab on PROVIDER) in the array E2E_LAB, and a scratch folder in $out; on exit the lab is
# taken down and the folder removed. A previous run's leftovers of the lab are taken down
# first, and the image is built. YAML-LINEs, top-level keys no option sets (login.user),
# are added to a copy of the seed's lab file, which is then the lab's.
e2e_lab() {
  local file=$SEED_LAB
  if [ $# -gt 2 ]; then
    E2E_LAB_COPY=$(mktemp /tmp/dcslab-e2e-XXXXXX.yaml)
    { cat "$SEED_LAB"; printf '%s\n' "${@:3}"; } >"$E2E_LAB_COPY"
    file=$E2E_LAB_COPY
  fi
  E2E_LAB=(--lab "$file" --name "$1" --provider "$2")
  out=$(mktemp -d)
  trap e2e_cleanup EXIT
  "$DCSLAB" "${E2E_LAB[@]}" down >/dev/null 2>&1 || true
  "$DCSLAB" image build >/dev/null
}
e2e_cleanup() {
  "$DCSLAB" "${E2E_LAB[@]}" down >/dev/null 2>&1 || true
  [ -z "${out:-}" ] || rm -rf "$out"
  [ -z "${E2E_LAB_COPY:-}" ] || rm -f "$E2E_LAB_COPY"
}

# expect_eq WHAT ACTUAL EXPECTED
expect_eq() {
  [ "$2" = "$3" ] || fail "$1: expected '$3', got '$2'"
  echo "ok: $1 = $3"
}

# lab_processes NAME [PIDNS-FILE]: every process of lab NAME, one "pid comm (why)" a line,
# in one pass over /proc (python, so the pass takes milliseconds and "right after down"
# means right after): a command line naming the lab's folder or one of its QEMU domains
# (-name guest=dcslab-NAME-...), a root directory in the lab's folder (a container's
# processes), a mount of the lab's folder in its mount namespace (a machine's overlay,
# a private libvirtd's binds), or a pid namespace listed in PIDNS-FILE (the lab's
# containers', written by record_lab_pid_namespaces while the lab ran).
lab_processes() {
  python3 - "$DCSLAB_HOME/labs/$1/" "dcslab-$1-" "${2:-}" <<'PY'
import os, sys
folder, domain, nsfile = sys.argv[1], sys.argv[2], sys.argv[3]
namespaces = set(open(nsfile).read().split()) if nsfile and os.path.exists(nsfile) else set()
me = os.getpid()
def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return None
for pid in (p for p in os.listdir("/proc") if p.isdigit()):
    if int(pid) == me:
        continue
    stat = read("/proc/%s/stat" % pid)
    if stat is None or stat[stat.rfind(")") + 2:].split()[0] in ("Z", "X"):
        continue
    why = None
    cmdline = (read("/proc/%s/cmdline" % pid) or "").split("\0")
    if any(folder in a or a.startswith("guest=" + domain) for a in cmdline):
        why = "command line"
    else:
        try:
            if (os.readlink("/proc/%s/root" % pid) + "/").startswith(folder):
                why = "root in the lab's folder"
            elif os.readlink("/proc/%s/ns/pid" % pid) in namespaces:
                why = "pid namespace of a machine of the lab"
        except OSError:
            pass
    if why is None and folder in (read("/proc/%s/mountinfo" % pid) or ""):
        why = "mount of the lab's folder"
    if why:
        print(pid, (read("/proc/%s/comm" % pid) or "?").strip(), "(%s)" % why)
PY
}

# record_lab_pid_namespaces NAME FILE: the pid namespaces of lab NAME's processes other
# than this shell's (its containers'), into FILE; fails when the lab has no process at
# all, so the check after down can fail.
record_lab_pid_namespaces() {
  local pid own procs
  own=$(readlink /proc/self/ns/pid)
  procs=$(lab_processes "$1")
  [ -n "$procs" ] || fail "no process of lab $1 found while it runs: the check after down would prove nothing"
  : >"$2"
  while read -r pid _; do
    readlink "/proc/$pid/ns/pid" 2>/dev/null || true
  done <<<"$procs" | grep -vxF -- "$own" | sort -u >"$2" || true
  echo "ok: lab $1 runs $(wc -l <<<"$procs") processes in $(wc -l <"$2") pid namespaces of its own"
}

# Nothing of lab NAME may remain the moment down returned: processes (see lab_processes;
# PIDNS-FILE as recorded before down), mounts, network namespace, links, state.
expect_nothing_left() {
  local name=$1 left
  left=$(lab_processes "$name" "${2:-}")
  [ -z "$left" ] || fail "processes of lab $name left when down returned:"$'\n'"$left"
  [ ! -e "$DCSLAB_HOME/labs/$name" ] || fail "state folder $DCSLAB_HOME/labs/$name left behind"
  # The whole name: grep -w would take lab e2e-patroni-dcs's namespace for e2e-patroni's.
  ! grep -qxF -- "dcslab-$name" <<<"$(ip netns list | awk '{print $1}')" || fail "network namespace dcslab-$name left behind"
  ! grep -q "/labs/$name/" /proc/mounts || fail "mounts of lab $name left: $(grep "/labs/$name/" /proc/mounts)"
  ! grep -qE "dcsn-$name|vb-dcslab-$name" <<<"$(ip -o link show)" || fail "links of lab $name left: $(ip -o link show | grep -E "dcsn-$name|vb-dcslab-$name")"
  echo "ok: nothing of lab $name is left"
}

# lab_up_checks PROVIDER LAB-NAME MACHINE-LEDGER-KIND: the seed's lab on PROVIDER, isolated;
# identity over SSH, exit status, status, host-key pinning, down, and down after an up
# killed midway. Leaves nothing behind.
lab_up_checks() {
  local provider=$1 name=$2 machine_kind=$3
  # Global, for the EXIT trap.
  E2E_LAB=(--lab "$SEED_LAB" --name "$name" --provider "$provider")
  trap e2e_cleanup EXIT
  "$DCSLAB" "${E2E_LAB[@]}" down >/dev/null 2>&1 || true   # a previous run's leftovers

  step "image"
  "$DCSLAB" "${E2E_LAB[@]}" image build

  step "up on $provider (isolated: a network namespace of its own)"
  "$DCSLAB" "${E2E_LAB[@]}" up --isolated

  step "identity over SSH"
  for i in 0 1 2; do
    expect_eq "dcs-0$i hostname -f" "$("$DCSLAB" "${E2E_LAB[@]}" exec dcs-0$i -- hostname -f)" \
      "dcs-0$i.patroni.mydomain"
  done
  addr=$("$DCSLAB" "${E2E_LAB[@]}" exec dcs-02 -- ip -4 -o addr)
  grep -q ' 192\.168\.56\.12/24 ' <<<"$addr" || fail "dcs-02 lacks 192.168.56.12/24: $addr"
  echo "ok: dcs-02 holds 192.168.56.12/24"
  set +e; "$DCSLAB" "${E2E_LAB[@]}" exec dcs-00 -- sh -c 'exit 7'; rc=$?; set -e
  expect_eq "exec passes on the remote exit status" "$rc" 7
  expect_eq "status" "$("$DCSLAB" "${E2E_LAB[@]}" status | awk '{print $2}' | sort -u)" running

  step "exec reuses the lab's SSH sessions through its exec multiplexer"
  local mux_dir="$DCSLAB_HOME/labs/$name" mux_pid
  [ -S "$mux_dir/exec-mux.sock" ] || fail "no exec multiplexer socket after the first exec"
  mux_pid=$(cut -d' ' -f1 "$mux_dir/exec-mux.pid")
  grep -q "exec-mux" "/proc/$mux_pid/cmdline" || fail "exec-mux.pid names no multiplexer ($mux_pid)"
  expect_eq "exec through the multiplexer" "$("$DCSLAB" "${E2E_LAB[@]}" exec dcs-01 -- hostname)" dcs-01
  "$DCSLAB" "${E2E_LAB[@]}" exec dcs-00 -- sleep 312 &
  local exec_pid=$!
  for _ in $(seq 1 100); do
    "$DCSLAB" "${E2E_LAB[@]}" exec dcs-00 -- pgrep -f '^sleep 312' >/dev/null && break
    sleep 0.1
  done
  kill -INT "$exec_pid"
  set +e; wait "$exec_pid"; rc=$?; set -e
  expect_eq "exit status of an exec stopped by Ctrl-C" "$rc" 130
  # The multiplexer notices the hang-up within a poll (100 ms) and kills the command.
  for _ in $(seq 1 50); do
    "$DCSLAB" "${E2E_LAB[@]}" exec dcs-00 -- pgrep -f '^sleep 312' >/dev/null || break
    sleep 0.1
  done
  set +e; "$DCSLAB" "${E2E_LAB[@]}" exec dcs-00 -- pgrep -af '^sleep 312'; rc=$?; set -e
  expect_eq "the interrupted command is gone from dcs-00 (pgrep's status)" "$rc" 1

  step "scenarios/smoke.yaml on $provider"
  "$DCSLAB" "${E2E_LAB[@]}" run "$SRC/scenarios/smoke.yaml"

  step "a tampered pinned host key is refused"
  pub="$DCSLAB_HOME/labs/$name/nodes/dcs-01/ssh_host_ed25519_key.pub"
  cp "$pub" "$pub.orig"
  ssh-keygen -q -t ed25519 -N '' -f "/tmp/dcslab-e2e-other-$$" >/dev/null
  cp "/tmp/dcslab-e2e-other-$$.pub" "$pub"
  set +e; msg=$("$DCSLAB" "${E2E_LAB[@]}" exec dcs-01 -- true 2>&1); rc=$?; set -e
  mv "$pub.orig" "$pub"; rm -f "/tmp/dcslab-e2e-other-$$"*
  expect_eq "exit status with a wrong host key" "$rc" 3
  grep -qi 'host key' <<<"$msg" || fail "message does not explain the host key mismatch: $msg"
  echo "ok: refused: $msg"

  step "down"
  record_lab_pid_namespaces "$name" "/tmp/dcslab-e2e-pidns-$$"
  "$DCSLAB" "${E2E_LAB[@]}" down
  expect_nothing_left "$name" "/tmp/dcslab-e2e-pidns-$$"
  rm -f "/tmp/dcslab-e2e-pidns-$$"
  case "$(awk '{print $3}' "/proc/$mux_pid/stat" 2>/dev/null)" in
    "" | Z) ;;
    *) fail "the exec multiplexer ($mux_pid) outlived down" ;;
  esac
  echo "ok: the exec multiplexer stopped with down"

  step "down after an up killed midway"
  "$DCSLAB" "${E2E_LAB[@]}" up --isolated >/tmp/dcslab-e2e-killed-$$.log 2>&1 &
  up_pid=$!
  for _ in $(seq 1 600); do
    grep -q "\"$machine_kind\"" "$DCSLAB_HOME/labs/$name/resources.json" 2>/dev/null && break
    sleep 0.1
  done
  kill -9 "$up_pid" 2>/dev/null || true
  wait "$up_pid" 2>/dev/null || true
  grep -q "\"$machine_kind\"" "$DCSLAB_HOME/labs/$name/resources.json" ||
    fail "the killed up had not recorded a machine: $(cat /tmp/dcslab-e2e-killed-$$.log)"
  rm -f /tmp/dcslab-e2e-killed-$$.log
  "$DCSLAB" "${E2E_LAB[@]}" down
  expect_nothing_left "$name"
}

# junit_summary FILE: "suites tests failures skipped" and the suite names, by Python's parser.
junit_summary() {
  python3 - "$1" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
cases = [c for s in suites for c in s.findall("testcase")]
print(len(suites), len(cases),
      sum(1 for c in cases if c.find("failure") is not None or c.find("error") is not None),
      sum(1 for c in cases if c.find("skipped") is not None))
print(" ".join(s.get("name", "") for s in suites))
PY
}

# junit_when_skips FILE: one line per testcase skipped by its step's `when:`,
# "<testsuite> | <testcase> | <message>".
junit_when_skips() {
  python3 - "$1" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
for s in suites:
    for c in s.findall("testcase"):
        k = c.find("skipped")
        if k is not None and k.get("message", "").startswith("when "):
            print(s.get("name", ""), "|", c.get("name", ""), "|", k.get("message"))
PY
}

# root_password_in_no_report NAME DIR: lab NAME's generated root password (16 characters
# or more) is in no file under DIR (the test's reports) or the lab's own runs.
root_password_in_no_report() {
  local secret
  secret=$(cat "$DCSLAB_HOME/labs/$1/secrets/root_password")
  [ "${#secret}" -ge 16 ] || fail "$1: root_password is too short: ${#secret}"
  ! grep -rqsF -- "$secret" "$2" "$DCSLAB_HOME/labs/$1/runs" || fail "$1: the root password reached a report"
}

# must_show PATH SHOWN...: the transcript $out/PATH.md holds every SHOWN (what decides
# the verdict of the upgrade path PATH).
must_show() {
  local p=$1 shown
  shift
  for shown in "$@"; do
    grep -qF -- "$shown" "$out/$p.md" || fail "$p: the transcript lacks: $shown"
  done
  echo "ok: $p's transcript shows $# outputs that decide its verdict"
}

# seed_transcript_checks FILE: the transcript of the seed suite on etcd 3.4 shows what the
# lab document shows the machines print.
seed_transcript_checks() {
  local shown
  for shown in \
    "Adding user tux to group etcd" \
    "Certificate request self-signature ok" \
    "subject=CN = dcs-00" \
    "8cc5336ad7ebe6b, started, dcs-00, https://192.168.56.10:2380, https://192.168.56.10:2379, false" \
    "Role root created" "User root created" "Role root is granted to user root" \
    "Authentication Enabled" "Error: etcdserver: user name not found" \
    "Snapshot saved at /var/lib/dcs/backup/etcd-snapshot.db" \
    "etcd etcd" "etcd-snapshot.db" \
    ", started, dcs-02, https://192.168.56.12:2380, https://192.168.56.12:2379, false" \
    "leaders: 1"; do
    grep -qF -- "$shown" "$1" || fail "the transcript lacks: $shown"
  done
  echo "ok: the transcript shows the document's outputs"
  grep -qE '^revision: ([0-9]+) -> \1$' "$1" || fail "the transcript lacks the revision comparison"
}

# seed_suite_checks PROVIDER LAB-NAME OUT-DIR [SCENARIO NAME]: the whole of
# scenarios/seed/ on a fresh isolated lab of PROVIDER (boot included): all eight pass,
# JUnit has no failure, the transcript shows what the lab document shows the machines
# print, the root password reaches no report; then down leaves nothing. E2E_LAB must
# hold the lab (e2e_lab). With SCENARIO (a file under scenarios/, requiring the seed)
# and its NAME, the same run goes on with it on the seed's cluster, and it must pass too.
# With SEED_MATRIX=KEY=VALUE (one cell, e.g. suite=bookworm), the run is that one cell of
# `run --matrix` (kept up with --keep for the checks): its lab is <LAB-NAME>-VALUE, its
# JUnit one testsuite "<name>[KEY=VALUE]" holding every scenario's steps, and the
# console's table says "passed" for each scenario.
seed_suite_checks() {
  local provider=$1 name=$2 out=$3 extra=${4:-} extra_name=${5:-}
  local start rc seconds suites tests failures skipped names files=("$SRC/scenarios/seed")
  local matrix=() scenarios sc row
  scenarios="install environment tls auth kv backup-restore env-vars replication${extra_name:+ $extra_name}"
  step "the whole suite on a fresh $provider lab (boot included)${extra:+, then $extra_name}${SEED_MATRIX:+, as the matrix cell $SEED_MATRIX}"
  [ -z "$extra" ] || files+=("$SRC/scenarios/$extra")
  if [ -n "${SEED_MATRIX:-}" ]; then
    matrix=(--matrix "$SEED_MATRIX" --keep)
    # From here on the lab is the cell's: the checks, down and the test's cleanup use it.
    name=$name-${SEED_MATRIX#*=}
    E2E_LAB=("${E2E_LAB[@]:0:3}" "$name" "${E2E_LAB[@]:4}")
    "$DCSLAB" "${E2E_LAB[@]}" down >/dev/null 2>&1 || true
  fi
  start=$(date +%s.%N)
  set +e
  "$DCSLAB" --isolated "${E2E_LAB[@]:0:3}" "$2" "${E2E_LAB[@]:4}" run "${matrix[@]}" "${files[@]}" \
    --junit "$out/seed.xml" --transcript "$out/seed.md" --json "$out/seed.json" >"$out/seed.log" 2>&1
  rc=$?
  set -e
  seconds=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
  grep -v '  ✓ ' "$out/seed.log" || true
  expect_eq "exit status of the suite" "$rc" 0
  echo "suite with boot: ${seconds}s; $(grep '^ok: ' "$out/seed.log" | tail -n1)"

  { read -r suites tests failures skipped; read -r names; } < <(junit_summary "$out/seed.xml")
  if [ -n "${SEED_MATRIX:-}" ]; then
    expect_eq "JUnit testsuites (one cell)" "$suites" 1
    case "$names" in *"[$SEED_MATRIX]") ;; *) fail "the cell's testsuite is named '$names', not ...[$SEED_MATRIX]" ;; esac
    expect_eq "scenarios in the cell's testsuite" \
      "$(python3 -c 'import sys, xml.etree.ElementTree as ET
seen = []
for c in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    if c.get("classname") not in seen: seen.append(c.get("classname"))
print(" ".join(seen))' "$out/seed.xml")" "$scenarios"
    for sc in $scenarios; do
      row=$(grep -E "^$sc +" "$out/seed.log" | tail -n1 | tr -s ' ')
      expect_eq "matrix row $sc" "$row" "$sc passed"
    done
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["passed"] and [c["lab"] for c in d["cells"]] == [sys.argv[2]], d["cells"]' \
      "$out/seed.json" "$name" || fail "the JSON report's cell"
  else
    expect_eq "JUnit testsuites" "$suites" "$(( ${extra:+1} + 8 ))"
    expect_eq "JUnit suite names" "$names" "$scenarios"
  fi
  expect_eq "JUnit failures" "$failures" 0
  # A step's `when:` may skip it on this etcd (a testcase <skipped message="when ...">);
  # nothing else may be skipped.
  expect_eq "JUnit skipped, other than by a step's when:" \
    "$(( skipped - $(junit_when_skips "$out/seed.xml" | wc -l) ))" 0
  [ "$tests" -ge 100 ] || fail "JUnit has only $tests testcases"
  echo "ok: $tests testcases"

  seed_transcript_checks "$out/seed.md"

  root_password_in_no_report "$name" "$out"
  echo "ok: the root password is in no report, transcript or artifact"

  step "down"
  "$DCSLAB" "${E2E_LAB[@]}" down
  expect_nothing_left "$name"
  echo "ok: seed suite on $provider with boot: ${seconds}s"
}

# patroni_lab NAME: the six-node lab of fixtures/labs/patroni.yaml on nspawn as
# E2E_LAB (lab NAME, in $name), a scratch folder $out; both are gone at exit. A lab of
# that name left by an earlier run is removed first; the image is built (or found).
patroni_lab() {
  name=$1
  E2E_LAB=(--lab "$SRC/fixtures/labs/patroni.yaml" --name "$name" --provider nspawn)
  out=$(mktemp -d)
  trap '"$DCSLAB" "${E2E_LAB[@]}" down >/dev/null 2>&1 || true; rm -rf "$out"' EXIT
  "$DCSLAB" "${E2E_LAB[@]}" down >/dev/null 2>&1 || true
  "$DCSLAB" image build >/dev/null
}

# secrets_in_no_report NAME DIR: none of lab NAME's generated secrets is in a file under
# DIR (the test's reports and histories) or the lab's own runs.
secrets_in_no_report() {
  local secret
  for secret in "$DCSLAB_HOME/labs/$1"/secrets/*; do
    [ -f "$secret" ] || continue
    ! grep -rqsF -- "$(cat "$secret")" "$2" "$DCSLAB_HOME/labs/$1/runs" || fail "secret ${secret##*/} reached a report"
  done
  echo "ok: no secret is in a report or history"
}

# pg_history_one_tenure ARTIFACTS SCENARIO: the PostgreSQL writer history p1 of Patroni
# scenario SCENARIO (and its role timeline) is there, and its check says no split
# brain, no timeline fork, no lost or unexplained insert, enough inserts tried and
# acknowledged, and one primary on one timeline throughout (the DCS operation left the
# primary alone). Prints the summary and the longest time without an acknowledged insert.
pg_history_one_tenure() {
  local history=$1/pg-writes-patroni-$2-p1.json
  [ -f "$history" ] || fail "no history for $2: $(ls "$1")"
  [ -f "$1/pg-roles-patroni-$2-p1.json" ] || fail "no role timeline for $2"
  python3 - "$history" "$2" <<'PY' || fail "the $2 history does not show what it must"
import json, sys
c = json.load(open(sys.argv[1]))["check"]
print("%s: %s" % (sys.argv[2], c["summary"]))
assert c["split_brain"] == 0 and c["timeline_forks"] == 0, c
assert c["final_read"] is True and c["lost"] == 0 and c["unexplained"] == 0, c
assert c["writes"] >= 50, "too few inserts tried: %d" % c["writes"]
assert c["acknowledged"] >= 20, "too few acknowledged inserts: %d" % c["acknowledged"]
assert len({(t["node"], t["timeline"]) for t in c["tenures"]}) == 1, c["tenures"]
print("  longest without an acknowledged insert: %.0f ms" % c["longest"]["ms"])
PY
}

# patroni_run WHAT ARGS...: `dcslab --isolated run ARGS... --artifacts $out/artifacts` on
# the lab of patroni_lab, its output in $out/run.log; prints every line of it but the
# passed steps, and how long WHAT took. The run's exit status is left in $rc.
patroni_run() {
  local what=$1 start
  shift
  start=$(date +%s)
  set +e
  "$DCSLAB" --isolated "${E2E_LAB[@]}" run "$@" --artifacts "$out/artifacts" >"$out/run.log" 2>&1
  rc=$?
  set -e
  grep -v '  ✓ ' "$out/run.log" || true
  echo "run with $what: $(( $(date +%s) - start ))s"
  [ "$rc" -eq 0 ] || patroni_journals
}

# patroni_journals: on a failed run (the lab is kept), the evidence goes to the test's
# log, since the lab, its journals and the artifacts go when the test exits: what etcd
# and Patroni logged on each node in the last 10 minutes (the lines about leaders,
# elections, demotions, logins and errors; not Patroni's routine "no action" lines),
# and the role timelines' changes. Every secret of the lab is masked first.
patroni_journals() {
  local node unit f
  {
    for node in dcs-00 dcs-01 dcs-02 pg-00 pg-01 pg-02; do
      case $node in dcs-*) unit=etcd ;; *) unit=patroni ;; esac
      echo "--- $node: journalctl -u $unit, the last 10 minutes (leaders, elections, demotions, errors)"
      "$DCSLAB" "${E2E_LAB[@]}" exec -u root "$node" -- journalctl -u "$unit" -o short-precise \
        --since -10min --no-pager |
        grep -E 'leader|elected|[Dd]emot|promot|lock|Unknown|rror|WARNING|terminated|transfer|authenticat|token|rewind|timeline' |
        grep -vE 'INFO: (no action|Lock owner)|Deprecated|rejected connection' | tail -n 60 || true
    done
    for f in "$out"/artifacts/pg-roles-*.json; do
      [ -f "$f" ] || continue
      echo "--- ${f##*/}: role changes, and spans without a leader or with two"
      python3 -c 'import json, sys; d = json.load(open(sys.argv[1]))
for k in ("changes", "no_leader", "two_leaders"): print(k, json.dumps(d[k]))' "$f" || true
    done
  } 2>&1 | python3 -c 'import sys, pathlib
secrets = [p.read_text() for p in pathlib.Path(sys.argv[1]).glob("*") if p.is_file()]
for line in sys.stdin:
    for s in secrets:
        if s.strip(): line = line.replace(s.strip(), "***")
    sys.stdout.write(line)' "$DCSLAB_HOME/labs/$name/secrets"
}
