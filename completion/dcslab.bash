# bash completion for dcslab: commands, global options, the lab's node names (from the
# lab file: --lab FILE on the line, else the installed example lab) and
# scenario files for run. Installed as share/bash-completion/completions/dcslab.
# Self-contained: needs nothing of the bash-completion package's helpers.
# shellcheck shell=bash

# The visible commands of harness/cli/commands.cc (tests/install/completion.sh checks).
_dcslab_commands="up status exec ssh ssh-config proxy down run fault snapshot check report pki image init help"
_dcslab_global_opts="--lab --name --provider --suite --isolated -v --verbose -h --help --version"

# The node names of a lab file: each "- name: X" under nodes:.
_dcslab_nodes() {
  local lab=$1
  [ -r "$lab" ] || return 0
  awk '/^nodes:/ { in_nodes = 1; next }
       /^[^ #-]/ { in_nodes = 0 }
       in_nodes && /^[ ]*-[ ]*name:/ { sub(/^[ ]*-[ ]*name:[ ]*/, ""); sub(/[ ]*(#.*)?$/, "");
                                      gsub(/["'\'']/, ""); print }' "$lab"
}

# The lab file the command line chooses, as dcslab does.
_dcslab_lab_file() {
  local i exe
  for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
    case ${COMP_WORDS[i]} in
      --lab) echo "${COMP_WORDS[i + 1]}"; return ;;
      --lab=*) echo "${COMP_WORDS[i]#--lab=}"; return ;;
    esac
  done
  exe=$(command -v dcslab 2>/dev/null) || return 0
  exe=$(readlink -f "$exe")
  echo "${exe%/bin/*}/share/dcslab/labs/dcs.yaml"
}

_dcslab() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
  local i w cmd="" cmd_at=0 nargs=0
  COMPREPLY=()

  case $prev in
    --lab) mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return ;;
    --provider) mapfile -t COMPREPLY < <(compgen -W "libvirt nspawn virtualbox" -- "$cur"); return ;;
    --suite) mapfile -t COMPREPLY < <(compgen -W "bullseye bookworm trixie forky" -- "$cur"); return ;;
    --name|--junit|--json|--transcript|--budget) return ;;
    --format) mapfile -t COMPREPLY < <(compgen -W "dcslab jepsen auto" -- "$cur"); return ;;
    --html) mapfile -t COMPREPLY < <(compgen -d -- "$cur"); return ;;
  esac

  # The command: the first word that is neither an option nor an option's value.
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    case $w in
      --) break ;;
      --lab|--name|--provider|--suite) ((i++)) ;;
      -*) ;;
      *) if [ -z "$cmd" ]; then cmd=$w; cmd_at=$i; else ((nargs++)); fi ;;
    esac
  done

  if [[ $cur == -* ]]; then
    local opts=$_dcslab_global_opts
    [ "$cmd" = check ] && opts="$opts --format --budget --html"
    [ "$cmd" = report ] && opts="$opts -o --junit --json --transcript"
    [ "$cmd" = run ] && opts="$opts --shard"
    mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
    return
  fi
  if [ -z "$cmd" ]; then
    mapfile -t COMPREPLY < <(compgen -W "$_dcslab_commands" -- "$cur")
    return
  fi

  local nodes
  case $cmd in
    exec|ssh|proxy)
      if [ "$nargs" -eq 0 ]; then
        nodes=$(_dcslab_nodes "$(_dcslab_lab_file)")
        mapfile -t COMPREPLY < <(compgen -W "$nodes" -- "$cur")
      fi ;;
    fault)
      if [ "$nargs" -eq 0 ]; then
        nodes=$(_dcslab_nodes "$(_dcslab_lab_file)")
        mapfile -t COMPREPLY < <(compgen -W "$nodes" -- "$cur")
      elif [ "$nargs" -eq 1 ]; then
        mapfile -t COMPREPLY < <(compgen -W "crash start pause resume partition heal kill" -- "$cur")
      fi ;;
    pki)
      if [ "$nargs" -eq 0 ]; then
        mapfile -t COMPREPLY < <(compgen -W "init issue show" -- "$cur")
      elif [ "${COMP_WORDS[cmd_at + 1]}" = issue ]; then
        nodes=$(_dcslab_nodes "$(_dcslab_lab_file)")
        mapfile -t COMPREPLY < <(compgen -W "$nodes" -- "$cur")
      else
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
      fi ;;
    image) [ "$nargs" -eq 0 ] && mapfile -t COMPREPLY < <(compgen -W "build list" -- "$cur") ;;
    snapshot) [ "$nargs" -eq 0 ] && mapfile -t COMPREPLY < <(compgen -W "save revert list delete" -- "$cur") ;;
    report)
      if [ "$nargs" -eq 0 ]; then mapfile -t COMPREPLY < <(compgen -W "merge" -- "$cur")
      else mapfile -t COMPREPLY < <(compgen -f -- "$cur"); fi ;;
    check)
      if [ "$nargs" -eq 0 ]; then mapfile -t COMPREPLY < <(compgen -W "history" -- "$cur")
      else mapfile -t COMPREPLY < <(compgen -f -- "$cur"); fi ;;
    help) [ "$nargs" -eq 0 ] && mapfile -t COMPREPLY < <(compgen -W "$_dcslab_commands" -- "$cur") ;;
    run)
      # Scenario files and the folders that hold them.
      mapfile -t COMPREPLY < <(compgen -d -S / -- "$cur"; compgen -f -X '!*.yaml' -- "$cur")
      # A folder goes on to its files: no space after "dir/".
      [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == */ ]] && compopt -o nospace 2>/dev/null
      ;;
    init) mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
  esac
  return 0
}
complete -F _dcslab dcslab
