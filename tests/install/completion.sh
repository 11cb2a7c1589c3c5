#!/usr/bin/env bash
# The bash completion (completion/dcslab.bash), sourced in a plain bash as
# bash-completion would: its command list is the command table's visible commands, and
# COMPREPLY for a command prefix, a global option, an option's value, a node name from
# the lab file given with --lab and without it from the installed example lab (as dcslab,
# never from a ./lab.yaml), a fault kind and scenario files.
set -euo pipefail

src=${DCSLAB_SOURCE_DIR:?}
# shellcheck source=../../completion/dcslab.bash
source "$src/completion/dcslab.bash"

fails=0
# complete WORDS... : COMPREPLY, sorted, space-separated, for the line's last word.
complete_line() {
  COMP_WORDS=(dcslab "$@")
  COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
  COMPREPLY=()
  _dcslab
  printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}
expect() {
  local want=$1 got; shift
  got=$(complete_line "$@")
  if [ "$got" = "$want" ]; then echo "ok: dcslab $* -> $got"
  else echo "FAIL: dcslab $*<TAB>: got '$got', want '$want'"; fails=1; fi
}

table=$src/harness/cli/commands.cc
visible=$(grep -E '^[[:space:]]*\{"[^"]*", \{"[a-z-]+".*, false, cmd_' "$table" |
          sed -E 's/^[[:space:]]*\{"[^"]*", \{"([a-z-]+)".*/\1/' | sort | tr '\n' ' ' | sed 's/ $//')
read -ra listed <<<"$_dcslab_commands"
mine=$(printf '%s\n' "${listed[@]}" | sort | tr '\n' ' ' | sed 's/ $//')
if [ "$visible" = "$mine" ] && [ -n "$visible" ]; then echo "ok: the completion's commands are the table's: $mine"
else echo "FAIL: completion commands '$mine' != the table's visible commands '$visible'"; fails=1; fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/my.yaml" <<'LAB'
name: mine
nodes:
  - name: alpha-1   # first
  - name: "alpha-2"
  - name: beta
LAB
mkdir -p "$tmp/scen/sub"
touch "$tmp/scen/a.yaml" "$tmp/scen/b.yaml" "$tmp/scen/notes.txt"
cd "$tmp"

expect "snapshot ssh ssh-config status" s
expect "exec" --provider nspawn ex
expect "--isolated" --is
expect "nspawn" --provider ns
expect "alpha-1 alpha-2" --lab my.yaml exec al
expect "alpha-1 alpha-2 beta" exec --lab my.yaml ""
expect "beta" --lab my.yaml fault b
expect "partition pause" --lab my.yaml fault beta pa
expect "alpha-1 alpha-2" --lab my.yaml pki issue beta alpha-
expect "scen/a.yaml scen/b.yaml scen/sub/" run scen/
expect "" --lab my.yaml exec beta hostn
expect "--html" check history --ht
expect "merge" report m
expect "--shard" run --sh
expect "auto dcslab jepsen" check history --format ''
expect "scen" check history --html sc
# Without --lab: the example lab installed beside the dcslab on PATH, not ./lab.yaml.
mkdir -p prefix/bin prefix/share/dcslab/labs
printf '#!/bin/sh\n' >prefix/bin/dcslab
chmod +x prefix/bin/dcslab
printf 'name: example\nnodes:\n  - name: dcs-00\n  - name: dcs-01\n' >prefix/share/dcslab/labs/dcs.yaml
cp my.yaml lab.yaml
PATH=$tmp/prefix/bin:$PATH expect "dcs-00 dcs-01" ssh ""
exit $fails
