#!/usr/bin/env bash
# The seed's three-node lab as systemd-nspawn machines on one bridge, inside a network
# namespace that dcslab creates for the lab.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd systemd-nspawn mmdebstrap ip
lab_up_checks nspawn e2e-nspawn nspawn-machine
echo "PASS nspawn_up"
