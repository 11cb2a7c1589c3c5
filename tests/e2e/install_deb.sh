#!/usr/bin/env bash
# dcslab as a user installs it. The .deb (cpack) goes into a clean Debian root of the
# host's release (mmdebstrap from the host's own apt sources; the root's tarball is
# cached beside the node images), apt resolves its Depends, and from an unrelated folder
# inside the root `dcslab --version`, `dcslab --help` and `man dcslab` work. Then the
# tree `cmake --install` makes runs an nspawn lab up / exec / down from /tmp with its
# installed data only. That part runs on the host, not in the root: an nspawn lab needs
# the host's systemd (machined registers the machines, the containers' scopes are
# systemd units) and the network namespaces dcslab makes must be the host's.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd cpack cmake mmdebstrap dpkg-deb apt-get systemd-nspawn ip unshare flock sha256sum
build=${DCSLAB_BUILD_DIR:?DCSLAB_BUILD_DIR must point at the build folder}
work=$build/install-test
mkdir -p "$work"
t0=$(date +%s)
elapsed() { echo "($(($(date +%s) - t0)) s)"; }

step "the .deb"
rm -f "$work"/dcslab_*.deb
(cd "$build" && cpack -G DEB -B "$work" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; fail "cpack failed"; }
debs=("$work"/dcslab_*_amd64.deb)
{ [ ${#debs[@]} = 1 ] && [ -f "${debs[0]}" ]; } || fail "cpack made no dcslab_<version>_amd64.deb: $(ls "$work")"
deb=${debs[0]}
version=$("$DCSLAB" --version)
deb_version=$(dpkg-deb -f "$deb" Version)
[ "$(basename "$deb")" = "dcslab_${deb_version}_amd64.deb" ] || fail "file name $(basename "$deb") for version $deb_version"
depends=$(dpkg-deb -f "$deb" Depends)
# dpkg-shlibdeps computes the libraries; these are the ones dcslab links for certain.
for p in libc6 libssh-4 libvirt0 libssl3 libyaml-cpp0.7 libpugixml1v5 systemd-container; do
  grep -qE "(^|, )$p( |,|$)" <<<"$depends" || fail "Depends lacks $p: $depends"
done
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/dcslab ./usr/share/dcslab/images/build-rootfs ./usr/share/dcslab/labs/dcs.yaml \
         ./usr/share/dcslab/scenarios/smoke.yaml ./usr/share/man/man1/dcslab.1 \
         ./usr/share/bash-completion/completions/dcslab; do
  grep -q " $f\$" <<<"$contents" || fail "$f is not in the package"
done
echo "ok: $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB), version $version, Depends: $depends $(elapsed)"

step "a clean root of the host's release, from the host's apt sources"
codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
# The host's entries for its release (the release, -updates, -security), as apt reads
# them from sources.list or deb822 .sources; no mirror is named here.
# shellcheck disable=SC2016  # apt's $(FIELD) syntax
mapfile -t sources < <(apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE)' \
    'Created-By: Packages' | sort -u | awk -v c="$codename" '$2 == c || index($2, c "-") == 1 { print "deb " $1 " " $2 " main" }')
[ ${#sources[@]} -gt 0 ] || fail "the host's apt sources have no entry for $codename"
mmdebstrap_args=(--quiet --mode=root --variant=apt --format=tar --include=man-db)
# The root takes minutes to make, so it is kept where the node images are
# ($DCSLAB_HOME/images: machine-wide, and what CI caches between runs; a build folder is
# new in every CI run), named by the release and a hash of what it is made from (the
# apt entries and mmdebstrap's options): a changed mirror or option makes a new one.
images=$DCSLAB_HOME/images
key=$(printf '%s\n' install-deb-root-v1 "$codename" "${mmdebstrap_args[@]}" "${sources[@]}" |
  sha256sum | cut -c1-12)
tarball=$images/deb-root-$codename-$key.tar
if [ -s "$tarball" ]; then
  echo "ok: cached $tarball"
else
  mkdir -p "$images"
  # Made under the images folder's lock, the flock dcslab's image builds take on it
  # (lab/image.cc, base/file.h lock_file): two runs make it once, and it never competes
  # with an image build for the mirror and the cores.
  exec {images_lock}<"$images"
  flock -w 3600 "$images_lock" || fail "waited an hour for the lock on $images"
  if [ -s "$tarball" ]; then
    echo "ok: $tarball made meanwhile by another run"
  else
    rm -f "$tarball.tmp"
    mmdebstrap "${mmdebstrap_args[@]}" "$codename" "$tarball.tmp" "${sources[@]}"
    mv "$tarball.tmp" "$tarball"
    # Roots of this release made from other sources or options are not used again.
    for old in "$images/deb-root-$codename-"*.tar; do
      [ "$old" = "$tarball" ] || rm -f "$old"
    done
    echo "ok: made $tarball ($(du -m "$tarball" | cut -f1) MiB) $(elapsed)"
  fi
  exec {images_lock}<&-
fi
root=$(mktemp -d /tmp/dcslab-deb-root-XXXXXX)
prefix=$(mktemp -d /tmp/dcslab-prefix-XXXXXX)
cleanup_all() { e2e_cleanup; rm -rf "$root" "$prefix"; }
trap cleanup_all EXIT
tar -C "$root" -xf "$tarball"
cp "$deb" "$root/tmp/"
# A command in the root, with /proc, in a mount namespace of its own (gone when it ends).
in_root() {
  # shellcheck disable=SC2016  # expanded by the inner sh
  unshare --mount --fork -- sh -c 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' "$root" \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 "$@"
}
in_root sh -c 'apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends /tmp/dcslab_*.deb' >"$work/apt.log" 2>&1 ||
  { tail -30 "$work/apt.log"; fail "apt could not install the .deb"; }
echo "ok: apt installed it with its Depends $(elapsed)"

step "from an unrelated folder in the root"
got=$(in_root sh -c 'cd /var/tmp && dcslab --version')
expect_eq "dcslab --version" "$got" "$version"
help=$(in_root sh -c 'cd /var/tmp && dcslab --help')
grep -qE '^  ssh-config +' <<<"$help" || fail "dcslab --help lists no commands"
page=$(in_root sh -c 'cd /var/tmp && man -P cat dcslab 2>&1')
{ grep -q 'SYNOPSIS' <<<"$page" && grep -q 'ssh-config' <<<"$page"; } || fail "man dcslab: $page"
warnings=$(in_root sh -c 'man --warnings=w dcslab 2>&1 >/dev/null')
[ -z "$warnings" ] || fail "man dcslab warns: $warnings"
# shellcheck disable=SC2016  # expanded by the root's bash
in_root bash -c 'source /usr/share/bash-completion/completions/dcslab && COMP_WORDS=(dcslab exec "") COMP_CWORD=2 &&
  _dcslab && [ "${COMPREPLY[*]}" = "dcs-00 dcs-01 dcs-02" ]' || fail "completion of the installed example lab's nodes"
echo "ok: --version, --help, man dcslab and completion in the root $(elapsed)"

step "cmake --install, and an nspawn lab from the installed files"
cmake --install "$build" --prefix "$prefix" >/dev/null
DCSLAB=$prefix/bin/dcslab
cd /tmp
# The installed binary uses the installed data, though its source tree exists: the
# scenarios it finds without an argument are the installed ones.
listed=$("$DCSLAB" run --list)
grep -q "$prefix/share/dcslab/scenarios/smoke.yaml" <<<"$listed" ||
  fail "the installed dcslab does not list its installed scenarios: $("$DCSLAB" run --list 2>&1 | head -5)"
E2E_LAB=(--name e2e-install --provider nspawn --isolated)
"$DCSLAB" "${E2E_LAB[@]}" down >/dev/null 2>&1 || true
"$DCSLAB" image build >/dev/null
"$DCSLAB" "${E2E_LAB[@]}" up
expect_eq "hostname on dcs-01" "$("$DCSLAB" "${E2E_LAB[@]}" exec dcs-01 -- hostname -f)" dcs-01.patroni.mydomain
"$DCSLAB" "${E2E_LAB[@]}" down
expect_nothing_left e2e-install
echo "ok: installed nspawn lab up / exec / down $(elapsed)"
echo "PASS install_deb $(elapsed)"
