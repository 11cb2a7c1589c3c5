#!/usr/bin/env bash
# A lab file's login.user on nspawn: each node creates the user at its first boot with
# tux's rights (the image has only tux); `up` waits for SSH as that user, so its key
# works; it has passwordless sudo; ssh-config names it; tux still logs in.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd systemd-nspawn mmdebstrap ip
# No global option sets login.user: the lab file is the seed's with it added.
e2e_lab e2e-login nspawn 'login: {user: ops}'
lab() { "$DCSLAB" "${E2E_LAB[@]}" "$@"; }

step "up: waits for SSH as ops"
lab up --isolated

step "ops on the nodes"
for i in 0 1 2; do
  expect_eq "dcs-0$i: SSH as ops" "$(lab exec -u ops dcs-0$i -- id -un)" ops
done
expect_eq "ops's groups" "$(lab exec -u ops dcs-01 -- id -nG)" "ops sudo"
expect_eq "ops's sudo, without a password" "$(lab exec -u ops dcs-01 -- sudo -n id -un)" root
expect_eq "ops has no password" "$(lab exec -u ops dcs-01 -- sudo -n passwd -S ops | cut -d' ' -f2)" L
expect_eq "tux still logs in" "$(lab exec -u tux dcs-01 -- id -un)" tux
expect_eq "ssh-config's User lines" "$(lab ssh-config | grep -c '^  User ops$')" 3

step "down"
lab down
expect_nothing_left e2e-login
echo "PASS login_user_nspawn"
