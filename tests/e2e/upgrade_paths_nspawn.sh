#!/usr/bin/env bash
# Issue 20's upgrade and downgrade paths, on nspawn, from ONE image (an image build costs
# minutes; a lab file's image.etcd list is part of the image's hash): bookworm with
# bullseye's etcd 3.3.25 installed (a lab's archive, made by scripts/make-etcd-archive)
# and sid's 3.5.30 as an archive that waits at etcd-server=3.5.30-dcslab1; bookworm's own
# 3.4.23 then waits at -t bookworm, trixie's 3.5.16 at -t trixie. The three paths run at
# once, each on a fresh lab of its own:
#   60  3.3 -> 3.4 -> 3.5 rolling with auth, on the seed's cluster built on 3.3 (the seed
#       suite on etcd 3.3, with its when: guards, is part of it);
#   50  3.5.16 -> 3.5.30 rolling with auth (it installs 3.5.16 first);
#   70  3.5.16 -> 3.4.23 with auth: the rolling downgrade refused, the offline restore.
# Each passes; its writer's history has no lost write and is linearizable; the
# transcripts show what decides each verdict (docs/UPGRADES.md); no root password reaches
# a report; down leaves nothing.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd systemd-nspawn mmdebstrap ip python3 apt-get

start_all=$(date +%s)
step "etcd archives from bullseye's and sid's etcd (kept under \$DCSLAB_HOME/cache, made once)"
read -r a33 s33 < <("$SRC/scripts/make-etcd-archive" bullseye "$DCSLAB_HOME/cache/etcd-archives" | tail -n1)
read -r a35 s35 < <("$SRC/scripts/make-etcd-archive" sid "$DCSLAB_HOME/cache/etcd-archives" | tail -n1)
case "$a33" in */etcd-v3.3.25-linux-amd64.tar.gz) ;; *) fail "bullseye's archive is $a33, not 3.3.25" ;; esac
case "$a35" in */etcd-v3.5.30-linux-amd64.tar.gz) ;; *) fail "sid's archive is $a35, not 3.5.30" ;; esac

lab=$(mktemp /tmp/dcslab-e2e-upgpaths-XXXXXX.yaml)
sed "s|^  suite: bookworm$|  suite: bookworm\n  etcd:\n    - {archive: $a33, sha256: $s33, install: true}\n    - {archive: $a35, sha256: $s35}|" \
  "$SEED_LAB" >"$lab"
grep -q "sha256: $s35" "$lab" || fail "the lab file copy has no image.etcd"
out=$(mktemp -d)
paths=(60-minor-3.3-3.4-3.5 50-patch-3.5.16-3.5.30-auth 70-downgrade-3.5-3.4-auth)
# on PATH ARGS...: dcslab on that path's own lab.
on() { "$DCSLAB" --lab "$lab" --name "e2e-upgp-${1%%-*}" --provider nspawn "${@:2}"; }
cleanup() {
  for p in "${paths[@]}"; do on "$p" down >/dev/null 2>&1 || true; done
  rm -rf "$out" "$lab"
}
trap cleanup EXIT
for p in "${paths[@]}"; do on "$p" down >/dev/null 2>&1 || true; done

step "the image: etcd 3.3.25 installed, 3.4.23, 3.5.16 and 3.5.30 waiting"
start=$(date +%s)
on 60 image build | tee "$out/image.txt"
echo "image: $(( $(date +%s) - start ))s"
manifest=$(tail -n1 "$out/image.txt")/manifest.json
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2]))' "$manifest" "$1"; }
expect_eq "image etcd_version" "$(field etcd_version)" 3.3.25
expect_eq "image etcd_archives" "$(field etcd_archives)" "3.3.25+:$s33,3.5.30:$s35"
expect_eq "image etcd_suite_version" "$(field etcd_suite_version)" 3.4.23
expect_eq "image etcd_upgrade_version" "$(field etcd_upgrade_version)" 3.5.16

step "the three paths at once, each on a fresh isolated lab"
start=$(date +%s)
for p in "${paths[@]}"; do
  on "$p" --isolated run "$SRC/scenarios/upgrades/$p.yaml" \
    --junit "$out/$p.xml" --transcript "$out/$p.md" >"$out/$p.log" 2>&1 &
  echo $! >"$out/$p.pid"
done
for p in "${paths[@]}"; do
  rc=0
  wait "$(cat "$out/$p.pid")" || rc=$?
  grep -v '  ✓ ' "$out/$p.log" | grep -v 'skipped: when' || true
  expect_eq "exit status of path $p" "$rc" 0
  { read -r _ tests failures _; read -r _; } < <(junit_summary "$out/$p.xml")
  expect_eq "$p: JUnit failures" "$failures" 0
  [ "$tests" -ge 40 ] || fail "$p: only $tests testcases"
  # The writer's verdict, from check_writes' own lines.
  grep -qE '^acknowledged [1-9][0-9]*, failed [0-9]+, indeterminate [0-9]+; .*lost 0, stale 0, unexplained 0' "$out/$p.md" ||
    fail "$p: the transcript lacks a check_writes line with lost 0, stale 0"
  grep -qE '^linearizability \(.*\): linearizable; ' "$out/$p.md" || fail "$p: the history is not shown linearizable"
  grep -E '^(writer |acknowledged |linearizability )' "$out/$p.md" | sed "s/^/$p: /"
done
echo "paths: $(( $(date +%s) - start ))s"

# What decides each verdict, in the transcripts.
must_show 60-minor-3.3-3.4-3.5 \
  "Setting up etcd-server (3.3.25-dcslab1)" "No help topic for 'completion'" \
  "is unhealthy: failed to commit proposal: etcdserver: invalid auth token" \
  '"etcdserver":"3.3.25","etcdcluster":"3.3.0"' '"etcdserver":"3.4.23","etcdcluster":"3.3.0"' \
  '"etcdserver":"3.4.23","etcdcluster":"3.4.0"' '"etcdserver":"3.5.16","etcdcluster":"3.4.0"' \
  '"etcdserver":"3.5.16","etcdcluster":"3.5.0"' "distinct hashes: 1" "distinct auth digests: 1"
must_show 50-patch-3.5.16-3.5.30-auth \
  "Setting up etcd-server (3.5.30-dcslab1)" '"etcdserver":"3.5.30","etcdcluster":"3.5.0"' \
  '"etcdserver":"3.5.16","etcdcluster":"3.5.0"' "distinct hashes: 1" "distinct auth revisions: 1"
must_show 70-downgrade-3.5-3.4-auth \
  "Authentication Disabled" \
  "cluster cannot be downgraded (current version: 3.4.23 is lower than determined cluster version: 3.5)." \
  '"etcdserver":"3.4.23","etcdcluster":"3.4.0"' "restored snapshot" "distinct hashes: 1"

for p in "${paths[@]}"; do
  root_password_in_no_report "e2e-upgp-${p%%-*}" "$out"
done
echo "ok: no root password in any report, transcript or artifact"

step "down"
for p in "${paths[@]}"; do
  on "$p" down
  expect_nothing_left "e2e-upgp-${p%%-*}"
done
echo "ok: issue 20's paths on nspawn, image included: $(( $(date +%s) - start_all ))s"
echo "PASS upgrade_paths_nspawn"
