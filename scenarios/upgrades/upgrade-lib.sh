# shellcheck shell=bash
# Shell functions the upgrade scenarios (scenarios/upgrades/*.yaml) run on the nodes.
# Each scenario puts this file on every node as /usr/local/lib/dcslab/upgrade-lib.sh;
# a step sources it. What it prints is what the scenario's expectations match, so
# every function prints facts (one per line), not verdicts, wherever it can.
#
# The client settings are the node's ~/.etcdvars (the lab document's ETCDCTL_*
# variables); with authentication, the root password comes from ~/.etcd-root-password
# (0600, put there by the scenario) joins the user in ETCDCTL_USER ("root:<password>"),
# so that a step can run many etcdctl commands without a prompt for each. Not
# ETCDCTL_PASSWORD: etcd 3.3's etcdctl has no such variable ("unrecognized environment
# variable") and asks; the user:password form works from 3.3 to 3.5.

# The node's own file (written by the lab document's steps), not one of this repository.
# shellcheck source=/dev/null
source ~/.etcdvars
if [ -n "${ETCDCTL_USER:-}" ] && [ -r ~/.etcd-root-password ]; then
  ETCDCTL_USER="${ETCDCTL_USER%%:*}:$(cat ~/.etcd-root-password)"
  export ETCDCTL_USER
fi

# `-w fields` output ("Key" : value lines, a blank line after each record) as one
# line per record: key=value pairs separated by tabs, quotes removed.
fields_records() {
  awk -F' : ' '
    /^$/ { if (rec != "") print rec; rec = ""; next }
    { k = $1; v = $2; gsub(/"/, "", k); gsub(/^"|"$/, "", v); gsub(/^ +| +$/, "", v)
      rec = rec (rec == "" ? "" : "\t") k "=" v }
    END { if (rec != "") print rec }'
}

# field NAME: the value of NAME in a record on stdin.
field() { tr '\t' '\n' | sed -n "s/^$1=//p" | head -n1; }

# The client URLs of the members, sorted (from the member list).
member_urls() { etcdctl member list | awk -F', ' '{print $5}' | sort; }

# on_member URL ARGS...: etcdctl against that member alone. ETCDCTL_ENDPOINTS, not
# --endpoints: etcdctl refuses a flag that shadows a variable of the environment.
on_member() {
  local url=$1
  shift
  ETCDCTL_ENDPOINTS=$url etcdctl "$@"
}

# cluster_report: how many members answer, how many leaders they name, and each
# member's server version, from `endpoint status --cluster`:
#   members: 3
#   leaders: 1
#   https://192.168.56.10:2379 version 3.4.23 leader false
cluster_report() {
  local out
  out=$(etcdctl endpoint status --cluster -w fields | fields_records) || return 1
  echo "members: $(printf '%s\n' "$out" | grep -c 'Endpoint=')"
  # The member that answers is the leader when its own ID is the leader's.
  echo "leaders: $(printf '%s\n' "$out" | while IFS= read -r r; do
    [ "$(printf '%s' "$r" | field MemberID)" = "$(printf '%s' "$r" | field Leader)" ] && echo x
  done | wc -l)"
  echo "leader ids: $(printf '%s\n' "$out" | while IFS= read -r r; do
    printf '%s' "$r" | field Leader; done | sort -u | wc -l)"
  printf '%s\n' "$out" | while IFS= read -r r; do
    echo "$(printf '%s' "$r" | field Endpoint) version $(printf '%s' "$r" | field Version)" \
      "leader $([ "$(printf '%s' "$r" | field MemberID)" = "$(printf '%s' "$r" | field Leader)" ] &&
        echo true || echo false)"
  done | sort
}

# cluster_version URL: the member's /version document (server and cluster version),
# fetched with the node's client certificate (etcd asks for one on every request).
cluster_version() {
  local hostport=${1#https://}
  printf 'GET /version HTTP/1.0\r\nHost: %s\r\n\r\n' "$hostport" |
    timeout 20 openssl s_client -quiet -connect "$hostport" -CAfile "$ETCDCTL_CACERT" \
      -cert "$ETCDCTL_CERT" -key "$ETCDCTL_KEY" 2>/dev/null | tail -n1
  echo
}

# versions_everywhere: each member's /version, one line each.
versions_everywhere() {
  local url
  for url in $(member_urls); do
    echo "$url $(cluster_version "$url")"
  done
}

# keys_on_each_member KEY...: on every member alone, one serializable read (that
# member's own copy) of every key it holds; prints per member how many of the KEYs
# are there and which are missing, and the digest of everything under the given
# prefixes is compared below by hashkv. One read a member, not one a key: an etcdctl
# call took ~2 s on VMs under TCG; 5 keys on 3 members and the counts took 52 s of a
# 1 m step there.
#   https://192.168.56.10:2379 has 4 of 4
keys_on_each_member() {
  local url k missing n have all
  for url in $(member_urls); do
    missing="" n=0 have=0
    all=$(on_member "$url" get --consistency=s --keys-only --from-key "")
    for k in "$@"; do
      n=$((n + 1))
      if printf '%s\n' "$all" | grep -qxF -- "$k"; then
        have=$((have + 1))
      else
        missing="$missing $k"
      fi
    done
    echo "$url has $have of $n${missing:+ MISSING:$missing}"
  done
}

# count_on_each_member PREFIX: per member, the number of keys under PREFIX in its
# own copy (serializable).
count_on_each_member() {
  local url
  for url in $(member_urls); do
    echo "$url $1* $(on_member "$url" get --consistency=s --prefix --keys-only "$1" | sed "/^$/d" | wc -l)"
  done
}

# hashkv_same_revision: writes a marker key, waits (bounded) until every member's
# own copy has it, then asks every member alone for the hash of its key-value store
# at that one revision. Prints the revision, each member's hash, and how many
# distinct hashes there are (1: the members agree). Each member is asked with a
# client of its own: with 3.4 and 3.5 mixed, a member refuses an auth token another
# version's member issued (token_matrix), which `endpoint hashkv --cluster` would
# use for all.
hashkv_same_revision() {
  local rev url out hashes
  rev=$(etcdctl put upgrade/hashkv-marker "$(date -u +%FT%TZ)" -w fields | sed -n 's/^"Revision" : //p')
  [ -n "$rev" ] || { echo "hashkv: the marker write failed" >&2; return 1; }
  for url in $(member_urls); do
    for _ in $(seq 1 60); do
      [ "$(on_member "$url" get --consistency=s -w fields upgrade/hashkv-marker |
        sed -n 's/^"ModRevision" : //p')" = "$rev" ] && break
      sleep 1
    done
  done
  echo "revision: $rev"
  hashes=""
  for url in $(member_urls); do
    out=$(on_member "$url" endpoint hashkv --rev="$rev" -w fields | sed -n 's/^"Hash" : //p')
    echo "$url hash ${out:-<none>}"
    [ -n "$out" ] && hashes="$hashes$out"$'\n'
  done
  echo "members: $(printf '%s' "$hashes" | grep -c .)"
  echo "distinct hashes: $(printf '%s' "$hashes" | sort -u | grep -c .)"
}

# token_matrix: for each member A, a client authenticates on A alone and presents
# that token to every member B (`endpoint hashkv --cluster` dials each member with
# the token it got). Prints whether B accepted the token or refused it. A member
# registers a token when it applies the authentication, which may be a moment after
# the issuer did: a refusal counts only when three tokens, a second apart, were all
# refused. Once every member accepted a token, later tries cannot change the answer
# and are not made (a try took ~7 s on VMs under TCG: a login and four dials).
#   token from https://192.168.56.10:2379 on https://192.168.56.11:2379: accepted
# hashed_by OUT URL: hashkv's output OUT has URL's hash, i.e. URL accepted the token.
hashed_by() { printf '%s\n' "$1" | grep -qF "$2, "; }
token_matrix() {
  local a b out r try urls all
  urls=$(member_urls)
  for a in $urls; do
    out=""
    for try in 1 2 3; do
      out="$out"$'\n'$(ETCDCTL_ENDPOINTS=$a etcdctl endpoint hashkv --cluster 2>&1)
      all=yes
      for b in $urls; do hashed_by "$out" "$b" || all=no; done
      [ "$all" = no ] || break
      [ "$try" = 3 ] || sleep 1
    done
    for b in $urls; do
      if hashed_by "$out" "$b"; then
        r=accepted
      elif printf '%s\n' "$out" | grep -F "hash of endpoint $b " | grep -q 'invalid auth token'; then
        r="refused (invalid auth token)"
      else
        r="error: $(printf '%s\n' "$out" | grep -F "$b" | grep -v '"level"' | head -n1)"
      fi
      echo "token from $a on $b: $r"
    done
  done
}

# auth_objects_on_each_member: per member alone, its users, roles, each role's
# permissions and each user's roles, and a digest of all of it; then how many
# distinct digests there are (1: every member holds the same auth objects).
auth_objects_on_each_member() {
  local url dump u r
  for url in $(member_urls); do
    dump=$(
      echo "users: $(on_member "$url" user list | sort | tr '\n' ' ')"
      echo "roles: $(on_member "$url" role list | sort | tr '\n' ' ')"
      for r in $(on_member "$url" role list | sort); do
        on_member "$url" role get "$r" | tr '\n' ' '
        echo
      done
      for u in $(on_member "$url" user list | sort); do
        on_member "$url" user get "$u" | tr '\n' ' '
        echo
      done
    )
    printf '%s\n' "$dump" | sed "s|^|$url |"
    echo "$url digest $(printf '%s\n' "$dump" | sha256sum | cut -c1-16)"
  done
}

# auth_digests: the per-member digest lines of auth_objects_on_each_member, and how
# many distinct digests there are.
auth_digests() {
  local out
  out=$(auth_objects_on_each_member) || return 1
  printf '%s\n' "$out"
  echo "distinct auth digests: $(printf '%s\n' "$out" | awk '$2 == "digest" {print $3}' | sort -u | wc -l)"
}

# auth_state_on_each_member: per member, whether a client with no user may read there
# (etcd 3.4 has no `auth status`): "URL authentication off" when it may, "URL
# authentication on" when the member refuses it (with a client certificate, its CN is
# taken as the user: "permission denied", or "user name is empty" without one), else
# the error.
auth_state_on_each_member() {
  local url err
  for url in $(member_urls); do
    if err=$( (unset ETCDCTL_USER; on_member "$url" get --prefix --keys-only --limit=1 /) 2>&1 >/dev/null); then
      echo "$url authentication off"
    elif printf '%s\n' "$err" | grep -qE 'etcdserver: (permission denied|user name is empty)'; then
      echo "$url authentication on"
    else
      echo "$url $(printf '%s\n' "$err" | grep -v '^{"level":' | tail -n1)"
    fi
  done
}

# login_matrix USER PASSWORD-FILE PREFIX: USER logs in on every member alone (its
# password checked by that member), writes PREFIX<member> and reads it back.
#   USER on https://192.168.56.10:2379: put OK, get OK
login_matrix() {
  local user=$1 pwfile=$2 prefix=$3 url key res res2
  for url in $(member_urls); do
    key="$prefix${url#https://}"
    res=$(ETCDCTL_USER="$user:$(cat "$pwfile")" on_member "$url" put "$key" "by $user" 2>&1 | tail -n1)
    res2=$(ETCDCTL_USER="$user:$(cat "$pwfile")" on_member "$url" get --print-value-only "$key" 2>&1 | tail -n1)
    echo "$user on $url: put ${res:-<nothing>}, get ${res2:-<nothing>}"
  done
}

# ---- a background writer: zero lost acknowledged writes ----------------------------
# writer_start: a transient unit on this node (dcslab-upg-writer) that writes
# upgrade/w/000000, 000001, ... one at a time through all members (etcdctl fails over
# to another endpoint when one is down), five a second, and appends each key etcd
# acknowledged (OK) to ~/writer-acked and each failed one to ~/writer-failed. It
# stops at writer_stop, or after an hour whatever happens.
writer_start() {
  local eps
  eps=$(member_urls | paste -sd,)
  [ -n "$eps" ] || { echo "writer: no members" >&2; return 1; }
  rm -f ~/writer-acked ~/writer-failed ~/writer-errors ~/writer-stop
  touch ~/writer-acked ~/writer-failed
  sudo systemctl stop dcslab-upg-writer 2>/dev/null || true
  sudo systemd-run --unit dcslab-upg-writer --collect --uid="$(id -u)" --gid="$(id -g)" \
    -p RuntimeMaxSec=3600 -p WorkingDirectory="$HOME" \
    bash -c "source /usr/local/lib/dcslab/upgrade-lib.sh && export ETCDCTL_ENDPOINTS=$eps && writer_loop"
  echo "writer started against $eps"
}

writer_loop() {
  local i=0 k
  while [ ! -e ~/writer-stop ]; do
    k=upgrade/w/$(printf %06d "$i")
    if etcdctl put "$k" "$i" >/dev/null 2>>~/writer-errors; then
      echo "$k" >>~/writer-acked
    else
      echo "$k" >>~/writer-failed
    fi
    i=$((i + 1))
    sleep 0.2
  done
}

# writer_progress: how many writes were acknowledged and how many failed so far.
writer_progress() {
  echo "acknowledged: $(wc -l <~/writer-acked) failed: $(wc -l <~/writer-failed)"
}

# writer_retries: the errors etcdctl retried on (its client logs each retry), by kind.
writer_retries() {
  echo "client retries: $(grep -c '"msg":"retrying of unary invoker failed"' ~/writer-errors)"
  grep -o '"error":"[^"]*"' ~/writer-errors | sed 's/^"error":"//; s/"$//' | sort | uniq -c |
    sed 's/^ */  /'
}

# writer_stop: asks the writer to stop after its current write and waits for it
# (bounded), then prints the counts.
writer_stop() {
  touch ~/writer-stop
  local i
  for i in $(seq 1 120); do
    systemctl is-active --quiet dcslab-upg-writer || break
    sleep 0.5
  done
  systemctl is-active --quiet dcslab-upg-writer && { echo "writer did not stop" >&2; return 1; }
  writer_progress
  writer_retries
}

# acked_on_each_member: per member, how many of the acknowledged writes its own copy
# holds (serializable read of the whole prefix), and how many are missing.
#   https://192.168.56.10:2379 holds 812 of 812 acknowledged writes, missing 0
acked_on_each_member() {
  local url have total missing
  sort -u ~/writer-acked >/tmp/writer-acked.sorted
  total=$(wc -l </tmp/writer-acked.sorted)
  for url in $(member_urls); do
    on_member "$url" get --consistency=s --prefix --keys-only upgrade/w/ | sed '/^$/d' | sort -u \
      >/tmp/writer-seen.sorted
    missing=$(comm -23 /tmp/writer-acked.sorted /tmp/writer-seen.sorted | wc -l)
    have=$((total - missing))
    echo "$url holds $have of $total acknowledged writes, missing $missing"
  done
  rm -f /tmp/writer-acked.sorted /tmp/writer-seen.sorted
}

# install_next_etcd: the next suite's etcd from the image's upgrade repository
# (/var/local/dcslab-repo-trixie, apt priority 1 unless asked for by -t). Debian's
# postinst restarts etcd after an upgrade; policy-rc.d (exit 101, Debian's way to
# say "start no service now") keeps it stopped, so the member starts when the
# procedure says so.
install_next_etcd() { install_etcd -t trixie etcd-server etcd-client; }

# install_etcd APT-ARGS...: the same for any of the image's etcds, e.g.
#   install_etcd -t bookworm etcd-server etcd-client          (the suite's own, priority 1)
#   install_etcd etcd-server=3.5.30-dcslab1 etcd-client=3.5.30-dcslab1   (a lab's archive)
# Downgrades allowed: a downgrade path asks for an older version by name.
install_etcd() {
  printf '#!/bin/sh\nexit 101\n' | sudo tee /usr/sbin/policy-rc.d >/dev/null
  sudo chmod 0755 /usr/sbin/policy-rc.d
  local rc=0
  sudo apt install -y --allow-downgrades "$@" || rc=$?
  sudo rm -f /usr/sbin/policy-rc.d
  return $rc
}
