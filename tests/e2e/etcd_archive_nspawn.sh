#!/usr/bin/env bash
# Bring your own etcd: a lab file names an etcd release archive (image.etcd, made here
# from Debian sid's etcd by scripts/make-etcd-archive, as upstream lays its releases
# out) to install in place of the suite's. The image packages it; the seed suite, whose
# 10-install does the document's plain `apt install etcd-{client,server}`, installs it
# and passes whole on nspawn; every node then runs that etcd, and the suite's own sits
# at apt priority 1.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd systemd-nspawn mmdebstrap ip python3 apt-get

step "an etcd archive from sid's etcd (kept under \$DCSLAB_HOME/cache, made once)"
read -r archive sha < <("$SRC/scripts/make-etcd-archive" sid "$DCSLAB_HOME/cache/etcd-archives" | tail -n1)
version=${archive##*/etcd-v}
version=${version%-linux-amd64.tar.gz}
echo "archive: $archive ($version, sha256 $sha)"

# The seed's lab with the archive installed in place of bookworm's etcd.
lab=$(mktemp /tmp/dcslab-e2e-etcdarchive-XXXXXX.yaml)
sed "s|^  suite: bookworm$|  suite: bookworm\n  etcd:\n    - {archive: $archive, sha256: $sha, install: true}|" \
  "$SEED_LAB" >"$lab"
grep -q "sha256: $sha" "$lab" || fail "the lab file copy has no image.etcd"
SEED_LAB=$lab
name=e2e-etcdarchive
e2e_lab "$name" nspawn
trap 'e2e_cleanup; rm -f "$lab"' EXIT

step "image build with the archive"
"$DCSLAB" "${E2E_LAB[@]}" image build | tee "$out/image.txt"
image=$(tail -n1 "$out/image.txt")
manifest=$image/manifest.json
expect_eq "image etcd_version" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["etcd_version"])' "$manifest")" "$version"
expect_eq "image etcd_archives" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["etcd_archives"])' "$manifest")" "$version+:$sha"
repo=$image/rootfs/var/local/dcslab-repo
ls "$repo"/etcd-server_"$version"-dcslab1_amd64.deb "$repo"/etcd-client_"$version"-dcslab1_amd64.deb >/dev/null ||
  fail "the local repository lacks the archive's packages: $(ls "$repo")"
ls "$image"/rootfs/var/local/dcslab-repo-bookworm/etcd-server_3.4.*.deb >/dev/null ||
  fail "bookworm's own etcd is not in dcslab-repo-bookworm"
[ "$(readlink "$DCSLAB_HOME/images/bookworm")" != "$(basename "$image")" ] ||
  fail "the archive's image took the place of the suite's own (images/bookworm)"
echo "ok: the image installs etcd $version; bookworm's own waits in dcslab-repo-bookworm"

# Derived from the suite's own image (build-rootfs --derive): no second mmdebstrap, and
# the trees differ only where the archives go: the local repositories and apt's sources.
base=$(readlink -f "$DCSLAB_HOME/images/bookworm")
grep -q '^==> copying the bookworm image' "$image/build.log" ||
  fail "the archive's image was not derived from bookworm's own: $(head -n3 "$image/build.log")"
! grep -q '^I: downloading packages' "$image/build.log" || fail "the derived build ran mmdebstrap"
# Contents (diff says nothing of device nodes but their kind), then every entry's kind,
# mode, owner and link target.
elsewhere='(/var/local(/|: )dcslab-repo|/etc/apt/sources\.list\.d([/: ]|$))'
differ=$(diff -rq --no-dereference "$base/rootfs" "$image/rootfs" 2>&1 | grep -vE "$elsewhere" |
  grep -vE '^File .* is a (character|block) special file while file .* is a (character|block) special file$' || true)
[ -z "$differ" ] || fail "the derived tree differs from bookworm's elsewhere: $(head -n5 <<<"$differ")"
listing() { (cd "$1" && find . -printf '%p %y %m %U:%G %l\n' | grep -vE "^\.$elsewhere" | sort); }
differ=$(diff <(listing "$base/rootfs") <(listing "$image/rootfs") || true)
[ -z "$differ" ] || fail "the derived tree's entries differ from bookworm's: $(head -n5 <<<"$differ")"
for f in vmlinuz initrd.img; do
  cmp -s "$base/$f" "$image/$f" || fail "the derived image's $f is not the suite image's"
done
echo "ok: derived from $(basename "$base"): only the repositories and apt's sources differ"

step "the seed suite on it"
set +e
"$DCSLAB" --isolated "${E2E_LAB[@]}" run "$SRC/scenarios/seed" \
  --junit "$out/seed.xml" --transcript "$out/seed.md" >"$out/seed.log" 2>&1
rc=$?
set -e
grep -v '  ✓ ' "$out/seed.log" || true
expect_eq "exit status of the seed suite with etcd $version" "$rc" 0
grep -q "^ok: 8 scenarios, 8 passed, 0 failed" "$out/seed.log" || fail "not 8 of 8 passed"
grep -qF "Setting up etcd-server ($version-dcslab1)" "$out/seed.md" ||
  fail "the transcript does not show apt installing etcd-server $version-dcslab1"
for n in dcs-00 dcs-01 dcs-02; do
  v=$("$DCSLAB" "${E2E_LAB[@]}" exec "$n" -- etcd --version | sed -n 's/^etcd Version: //p')
  expect_eq "etcd on $n" "$v" "$version"
  p=$("$DCSLAB" "${E2E_LAB[@]}" exec "$n" -- sh -c 'LC_ALL=C apt-cache policy etcd-server | sed -n "s/^  Installed: //p"')
  expect_eq "etcd-server package on $n" "$p" "$version-dcslab1"
done
"$DCSLAB" "${E2E_LAB[@]}" down
expect_nothing_left "$name"
echo "PASS etcd_archive_nspawn"
