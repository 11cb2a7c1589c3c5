#!/usr/bin/env bash
# The lab PKI on a real lab (nspawn machines in a network namespace dcslab creates):
# fixtures/e2e/pki-tls.yaml installs etcd on dcs-00, pushes the lab CA's
# certificates with pki_issue, configures TLS as the lab document does, and checks with
# expect_tls (from dcslab, inside the lab's namespace) that etcd accepts the lab's client
# certificate and refuses none, another CA's and an expired one; etcdctl prints the
# document's member line. The CA key stays on the host and no key reaches a report.
# Network safety: every lab here is up --isolated, so its addresses live only in the
# network namespace (netns dcslab-<lab>) that dcslab creates for it and deletes at down;
# commands reach the nodes from inside it (dcslab exec, or node to node).
. "$(dirname "$0")/lib.sh"
require_root
require_cmd systemd-nspawn mmdebstrap ip python3 openssl

name=e2e-pki
e2e_lab "$name" nspawn
t0=$(date +%s)

step "pki-tls scenario"
"$DCSLAB" --isolated "${E2E_LAB[@]}" run "$SRC/fixtures/e2e/pki-tls.yaml" \
  --junit "$out/pki.xml" --transcript "$out/pki.md" --json "$out/pki.json" | tee "$out/pki.log"
t1=$(date +%s)
failures=$(python3 - "$out/pki.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
print(sum(1 for s in suites for c in s.findall("testcase") if c.find("failure") is not None))
PY
)
expect_eq "pki-tls JUnit failures" "$failures" 0

step "the lab PKI on the host"
pki="$DCSLAB_HOME/labs/$name/pki"
openssl verify -CAfile "$pki/ca.crt" "$pki/dcs-00.crt" | grep -q ': OK$' || fail "openssl verify"
echo "ok: openssl verify accepts dcs-00.crt"
expect_eq "SANs" "$("$DCSLAB" "${E2E_LAB[@]}" pki show "$pki/dcs-00.crt" | sed -n 's/^SANs: *//p')" \
  "IP:192.168.56.10, IP:127.0.0.1, DNS:localhost, DNS:dcs-00, DNS:dcs-00.patroni.mydomain"
expect_eq "modes" "$(cd "$pki" && stat -c '%n %a' ca.key ca.crt dcs-00.key dcs-00.crt dcs-00.csr dcs-00.ext | tr '\n' ' ')" \
  "ca.key 600 ca.crt 640 dcs-00.key 640 dcs-00.crt 640 dcs-00.csr 644 dcs-00.ext 644 "
set +e; "$DCSLAB" "${E2E_LAB[@]}" exec dcs-00 -- sudo test -e /etc/dcs/cert/ca.key; rc=$?; set -e
expect_eq "the CA key is not on the node (test -e exit status)" "$rc" 1

step "no private key in any report"
! grep -rq -- "PRIVATE KEY" "$out" "$DCSLAB_HOME/labs/$name/runs" || fail "a private key reached a report"
body=$(sed -n 2p "$pki/dcs-00.key")
! grep -rqF -- "$body" "$out" "$DCSLAB_HOME/labs/$name/runs" || fail "key material reached a report"
echo "ok: no key material in reports, transcript or artifacts"

step "down"
"$DCSLAB" "${E2E_LAB[@]}" down
expect_nothing_left "$name"
echo "timing: scenario (lab up + etcd + TLS) $((t1 - t0)) s, total $(( $(date +%s) - t0 )) s"
echo "PASS pki_tls_nspawn"
