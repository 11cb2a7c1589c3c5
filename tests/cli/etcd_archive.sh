#!/usr/bin/env bash
# A lab's own etcd archive (image.etcd) that is not what it says is refused before
# anything is built: `dcslab image build` exits 2 naming the lab file's line and key,
# and creates nothing under $DCSLAB_HOME. The archives are made here, with small
# scripts standing in for etcd's binaries (only what they print matters to the check).
set -euo pipefail
DCSLAB=${DCSLAB:?}
SRC=${DCSLAB_SOURCE_DIR:?}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export DCSLAB_HOME=$work/home
mkdir -p "$DCSLAB_HOME"

# fake_archive NAME TOP VERSION BINARIES...: NAME.tar.gz with TOP/<binary> printing what
# etcd's binaries print for VERSION; a binary "etcd=hello" prints "hello" instead.
fake_archive() {
  local name=$1 top=$2 version=$3 b
  shift 3
  rm -rf "$work/pack"
  mkdir -p "$work/pack/$top"
  for b in "$@"; do
    case $b in
      *=*) printf '#!/bin/sh\necho %s\n' "${b#*=}" >"$work/pack/$top/${b%%=*}" ;;
      etcd) printf '#!/bin/sh\necho "etcd Version: %s"\necho "Go Version: go1"\n' "$version" >"$work/pack/$top/etcd" ;;
      etcdctl) printf '#!/bin/sh\necho "etcdctl version: %s"\necho "API version: 3.5"\n' "$version" >"$work/pack/$top/etcdctl" ;;
      etcdutl) printf '#!/bin/sh\necho "etcdutl version: %s"\n' "$version" >"$work/pack/$top/etcdutl" ;;
    esac
    chmod +x "$work/pack/$top/${b%%=*}"
  done
  tar -C "$work/pack" -czf "$work/$name.tar.gz" "$top"
  echo "$work/$name.tar.gz"
}

# lab_with ARCHIVE SHA256: the seed's lab with that archive as image.etcd, line 11 the
# archive, line 12 the sha256.
lab_with() {
  {
    sed -n '1,8p' "$SRC/fixtures/labs/dcs.yaml"
    echo "  suite: bookworm"
    echo "  etcd:"
    echo "    - archive: $1"
    echo "      sha256: $2"
    echo "      install: true"
    sed -n '10,$p' "$SRC/fixtures/labs/dcs.yaml"
  } >"$work/lab.yaml"
  [ "$(sed -n 8p "$work/lab.yaml")" = "image:" ] || { echo "FAIL: the seed's lab moved its image: line"; exit 1; }
}

n=0
# refused ARCHIVE SHA256 EXPECTED: image build exits 2 with EXPECTED, nothing created.
refused() {
  lab_with "$1" "$2"
  set +e
  err=$("$DCSLAB" --lab "$work/lab.yaml" image build 2>&1 >/dev/null)
  rc=$?
  set -e
  [ "$rc" = 2 ] || { echo "FAIL: $(basename "$1") exited $rc, not 2: $err"; exit 1; }
  case "$err" in
    "dcslab: $work/lab.yaml:$3"*) ;;
    *) echo "FAIL: $(basename "$1")"; echo "  got:      $err"; echo "  expected: dcslab: $work/lab.yaml:$3..."; exit 1 ;;
  esac
  [ "$(find "$DCSLAB_HOME" -mindepth 1 | wc -l)" = 0 ] || { echo "FAIL: $(basename "$1") created $(find "$DCSLAB_HOME" -mindepth 1)"; exit 1; }
  [ -z "$(find /tmp -maxdepth 1 -name 'dcslab-etcd-archive-*' -newer "$work/lab.yaml")" ] ||
    { echo "FAIL: $(basename "$1") left a scratch folder in /tmp"; exit 1; }
  echo "ok: refused: ${err#dcslab: "$work"/}"
  n=$((n + 1))
}
sha() { sha256sum "$1" | cut -d' ' -f1; }

good=$(fake_archive etcd-v3.5.30-linux-amd64 etcd-v3.5.30-linux-amd64 3.5.30 etcd etcdctl etcdutl)
refused "$good" "$(printf '%064d' 0)" \
  "12:15: image.etcd[0].sha256: etcd-v3.5.30-linux-amd64.tar.gz has SHA-256 $(sha "$good"), not $(printf '%064d' 0)"

a=$(fake_archive etcd-v3.5.30-linux-amd64 etcd-v3.5.30-linux-amd64 3.5.30 etcd etcdutl)
refused "$a" "$(sha "$a")" \
  "11:16: image.etcd[0].archive: etcd-v3.5.30-linux-amd64.tar.gz has no etcd-v3.5.30-linux-amd64/etcdctl"

a=$(fake_archive etcd-v3.5.30-linux-amd64 etcd-v3.5.30-linux-amd64 3.5.30 etcd etcdctl)
refused "$a" "$(sha "$a")" \
  "11:16: image.etcd[0].archive: etcd-v3.5.30-linux-amd64.tar.gz has no etcd-v3.5.30-linux-amd64/etcdutl"

a=$(fake_archive etcd-v3.5.30-linux-amd64 etcd-v3.5.30-linux-amd64 3.5.30 etcd=hello etcdctl etcdutl)
refused "$a" "$(sha "$a")" \
  "11:16: image.etcd[0].archive: etcd-v3.5.30-linux-amd64/etcd --version does not say \"etcd Version: 3.5.30\" (it says \"hello\"): not etcd 3.5.30"

# The name says 3.5.31, the binaries are 3.5.30.
a=$(fake_archive etcd-v3.5.31-linux-amd64 etcd-v3.5.31-linux-amd64 3.5.30 etcd etcdctl etcdutl)
refused "$a" "$(sha "$a")" \
  "11:16: image.etcd[0].archive: etcd-v3.5.31-linux-amd64/etcd --version does not say \"etcd Version: 3.5.31\" (it says \"etcd Version: 3.5.30\"): not etcd 3.5.31"

a=$(fake_archive etcd-v3.5.30-linux-amd64 etcd-3.5.30 3.5.30 etcd etcdctl etcdutl)
refused "$a" "$(sha "$a")" \
  "11:16: image.etcd[0].archive: \"etcd-3.5.30\" is outside the top folder etcd-v3.5.30-linux-amd64/"

printf 'not a tar' >"$work/etcd-v3.4.23-linux-amd64.tar.gz"
refused "$work/etcd-v3.4.23-linux-amd64.tar.gz" "$(sha "$work/etcd-v3.4.23-linux-amd64.tar.gz")" \
  "11:16: image.etcd[0].archive: etcd-v3.4.23-linux-amd64.tar.gz is not a gzip'd tar archive"

refused "$work/etcd-v3.4.9-linux-amd64.tar.gz" "$(printf '%064d' 0)" \
  "11:16: image.etcd[0].archive: $work/etcd-v3.4.9-linux-amd64.tar.gz: no such file"

[ "$n" = 8 ] || { echo "FAIL: $n refusals, expected 8"; exit 1; }
echo "$n passed, 0 failed"
