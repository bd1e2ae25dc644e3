#!/usr/bin/env bash
# dockerd's default runtime, only on hosts where privileged containers fail (engine.sh detects it):
# a host whose bounding set lacks CAP_SYS_RESOURCE, and where oom_score_adj cannot go below 0.
# Before the real runc creates a container (create/run: the bundle's config.json) or execs into
# one (exec: the --process json), it removes CAP_SYS_RESOURCE from every capability set and
# raises a negative oomScoreAdj to 0. Everything else passes through unchanged.
set -euo pipefail
self="$(readlink -f "${BASH_SOURCE[0]}")"
runc="$(command -v runc)"
[[ "$(readlink -f "${runc}")" != "${self}" ]] || { echo "runc-quirks: the real runc is not on PATH" >&2; exit 1; }

caps='map_values(if type == "array" then map(select(. != "CAP_SYS_RESOURCE")) else . end)'
# edit <json-file> <jq-filter>
edit() {
  [[ -f "$1" ]] || return 0
  jq "$2" "$1" >"$1.quirks" && mv -f "$1.quirks" "$1"
}

# Global flags that take a value come before the command.
cmd="" bundle="." process="" args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  a="${args[i]}"
  if [[ -z "${cmd}" ]]; then
    case "${a}" in
      --root | --log | --log-format | --criu | --rootless) ((i += 1)) ;;
      -*) ;;
      *) cmd="${a}" ;;
    esac
    continue
  fi
  case "${a}" in
    --bundle | -b) bundle="${args[i + 1]:-.}" ;;
    --bundle=*) bundle="${a#--bundle=}" ;;
    --process | -p) process="${args[i + 1]:-}" ;;
    --process=*) process="${a#--process=}" ;;
  esac
done

case "${cmd}" in
  create | run) edit "${bundle}/config.json" "(.process.capabilities |= (if . then ${caps} else . end))
    | (if (.process.oomScoreAdj // 0) < 0 then .process.oomScoreAdj = 0 else . end)" ;;
  exec) [[ -z "${process}" ]] || edit "${process}" "(.capabilities |= (if . then ${caps} else . end))" ;;
esac
exec "${runc}" "$@"
