#!/usr/bin/env bash
# Bad input never gets past loading: each lab fixture under fixtures/bad/ makes dcslab exit
# 2 with the error its first line announces, fast, and creates nothing (no lab state).
set -euo pipefail
DCSLAB=${DCSLAB:?}
SRC=${DCSLAB_SOURCE_DIR:?}
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
export DCSLAB_HOME=$home
n=0
for f in "$SRC"/fixtures/bad/lab-*.yaml; do
  expected="$f$(head -1 "$f" | sed 's/^# expect-error: //')"
  for cmd in up status down "exec dcs-00 -- true"; do
    read -ra argv <<<"$cmd"
    set +e
    err=$("$DCSLAB" --lab "$f" "${argv[@]}" 2>&1 >/dev/null)
    rc=$?
    set -e
    [ "$rc" = 2 ] || { echo "FAIL: $cmd with $f exited $rc, not 2: $err"; exit 1; }
    case "$err" in
      "dcslab: $expected"*) ;;
      *) echo "FAIL: $cmd with $f"; echo "  got:      $err"; echo "  expected: dcslab: $expected..."; exit 1 ;;
    esac
    [ "$(find "$home" -mindepth 1 | wc -l)" = 0 ] || { echo "FAIL: $cmd with $f created $(find "$home")"; exit 1; }
  done
  n=$((n + 1))
done
[ "$n" -ge 9 ] || { echo "FAIL: only $n bad lab fixtures"; exit 1; }

# Bad scenario files: exit 2 with their error, within a second, nothing booted or created.
m=0
for f in "$SRC"/fixtures/bad/scenario-*.yaml; do
  expected="$f$(head -1 "$f" | sed 's/^# expect-error: //')"
  set +e
  start=$(date +%s%N)
  err=$("$DCSLAB" run "$f" 2>&1 >/dev/null)
  rc=$?
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  set -e
  [ "$rc" = 2 ] || { echo "FAIL: run $f exited $rc, not 2: $err"; exit 1; }
  case "$err" in
    "dcslab: $expected"*) ;;
    *) echo "FAIL: run $f"; echo "  got:      $err"; echo "  expected: dcslab: $expected..."; exit 1 ;;
  esac
  [ "$(find "$home" -mindepth 1 | wc -l)" = 0 ] || { echo "FAIL: run $f created $(find "$home")"; exit 1; }
  echo "ok: $(basename "$f") exits 2 in ${ms} ms"
  m=$((m + 1))
done
[ "$m" -ge 8 ] || { echo "FAIL: only $m bad scenario fixtures"; exit 1; }

# Bad arguments: exit 2 with a message, nothing created.
check_args() {
  local expect=$1; shift
  set +e; err=$("$DCSLAB" "$@" 2>&1 >/dev/null); rc=$?; set -e
  [ "$rc" = 2 ] || { echo "FAIL: dcslab $* exited $rc, not 2: $err"; exit 1; }
  case "$err" in *"$expect"*) ;; *) echo "FAIL: dcslab $*: '$err' lacks '$expect'"; exit 1 ;; esac
  [ "$(find "$home" -mindepth 1 | wc -l)" = 0 ] || { echo "FAIL: dcslab $* created files"; exit 1; }
}
check_args 'unknown command "frobnicate"' frobnicate
check_args 'unknown node "dcs-07"' exec dcs-07 -- true
check_args 'expected -- COMMAND' exec dcs-00
check_args '--provider: unknown provider "docker"' --provider docker status
check_args "unrecognised option '--bogus'" up --bogus
check_args 'image build: unknown suite "jessie"' image build --suite jessie
check_args 'cannot read lab file' --lab /nonexistent.yaml status
check_args 'fault: unknown fault "explode"' fault dcs-00 explode
check_args 'fault kill: expected NODE kill UNIT' fault dcs-00 kill
check_args 'fault: unknown node "dcs-07"' fault dcs-07 crash
check_args 'run: --seed: "x1" is not a number' run --seed x1 scenarios/smoke.yaml
check_args 'run: --matrix os=bookworm: unknown dimension "os" (valid: suite)' run --matrix os=bookworm "$SRC/scenarios/smoke.yaml"
check_args 'run: --matrix suite=: an empty value' run --matrix suite= "$SRC/scenarios/smoke.yaml"
# Options after the command, as before it (dcslab up --provider nspawn).
for f in "$SRC"/fixtures/bad/lab-*.yaml; do
  check_args "$f$(head -1 "$f" | sed 's/^# expect-error: //')" status --lab "$f"
done
check_args '--provider: unknown provider "docker"' status --provider docker
check_args '--provider: unknown provider "docker"' run "$SRC/scenarios/smoke.yaml" --provider docker
check_args 'run: --seed: "x1" is not a number' run "$SRC/scenarios/smoke.yaml" --seed x1
check_args 'unknown node "dcs-07"' exec dcs-07 --name other -- true
check_args '--suite given twice (trixie, bookworm)' --suite trixie image build --suite bookworm
check_args "unrecognised option '--bogus'" --bogus up
# run checks the lab of every scenario with the provider registry, as the lab commands do.
f=$SRC/fixtures/bad/lab-remote-uri.yaml
check_args "$f$(head -1 "$f" | sed 's/^# expect-error: //')" run "$SRC/scenarios/smoke.yaml" --lab "$f"
check_args 'help: unknown command "frobnicate"' help frobnicate
check_args 'libvirtd: DIR must be an absolute path' libvirtd start relative/dir
# init never overwrites: exit 2 naming the file, nothing written.
work=$(mktemp -d)
trap 'rm -rf "$home" "$work"' EXIT
echo mine >"$work/lab.yaml"
check_args "init: $work/lab.yaml exists; not overwriting it" init "$work"
if [ "$(cat "$work/lab.yaml")" != mine ] || [ -e "$work/scenarios" ]; then echo "FAIL: init wrote into $work"; exit 1; fi

# A suggested command carries the options that chose the lab, wherever they were typed.
suggests_own_up() {
  set +e; err=$("$DCSLAB" "$@" 2>&1 >/dev/null); rc=$?; set -e
  [ "$rc" = 3 ] || { echo "FAIL: dcslab $* exited $rc, not 3: $err"; exit 1; }
  case "$err" in
    *"lab ux is not up (dcslab --name ux --provider nspawn up)"*) ;;
    *) echo "FAIL: dcslab $*: '$err' does not suggest the lab's own up"; exit 1 ;;
  esac
}
suggests_own_up --name ux --provider nspawn ssh-config
suggests_own_up ssh-config --name ux --provider nspawn
echo "cli_bad_input: $n lab fixtures, $m scenario fixtures and 13 argument errors each exit 2 with their message; options after the command and suggestions too"
