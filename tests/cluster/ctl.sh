#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Controls single components of the local control plane started by tests/cluster/up.sh,
# for fault tests and debugging.
#
# Usage:
#   tests/cluster/ctl.sh stop    <component>   SIGTERM (SIGKILL after 30s), wait for exit
#   tests/cluster/ctl.sh kill    <component>   SIGKILL at once (crash), wait for exit
#   tests/cluster/ctl.sh start   <component>   start again with the flags of its last start
#                                              (recorded in <state>/run/<component>.args), wait until healthy
#   tests/cluster/ctl.sh restart <component>   stop + start (same flags)
#   tests/cluster/ctl.sh reconfigure <component>  stop + start with flags computed from the current
#                                              environment, e.g. CLUSTER_APISERVER_EXTRA_ARGS=--watch-cache=false
#   tests/cluster/ctl.sh status  [component]   exit 0 if running and healthy
#   tests/cluster/ctl.sh etcd-revision         print etcd's current revision
#   tests/cluster/ctl.sh etcd-compact [rev]    compact etcd history up to rev (default: current
#                                              revision), physically, via etcd's gRPC gateway.
#                                              kube-apiserver's watch cache still serves older
#                                              resourceVersions: for 410 Gone on watch/list from an old
#                                              resourceVersion, `restart kube-apiserver` after compacting,
#                                              or run it with --watch-cache=false (see reconfigure)
# <component>: etcd | kube-apiserver | kube-controller-manager
set -Eeuo pipefail

# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

usage() { awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "${BASH_SOURCE[0]}" >&2; exit 2; }

# etcd's gRPC gateway (JSON over HTTP on the client port): POST /v3/kv/range and /v3/kv/compaction.
etcd_revision() {
  local body
  # key "AA==" is base64 for "\0": any range answer carries the store's header revision.
  body="$(curl -fsS --max-time 5 -X POST "${ETCD_URL}/v3/kv/range" -d '{"key":"AA==","limit":1}')" ||
    die "etcd at ${ETCD_URL} did not answer /v3/kv/range"
  [[ "${body}" =~ \"revision\":\"([0-9]+)\" ]] || die "no revision in etcd's answer: ${body}"
  printf '%s\n' "${BASH_REMATCH[1]}"
}

cmd="${1:-}"
name="${2:-}"
case "${cmd}" in
  start | stop | kill | restart | reconfigure)
    [[ -n "${name}" ]] || usage
    component_bin "${name}" >/dev/null
    ;;
esac

case "${cmd}" in
  start | stop | kill | restart | reconfigure) lock_state ;;
esac

case "${cmd}" in
  stop) stop_process "${name}" 30 ;;
  kill)
    if pid="$(pid_of "${name}")"; then
      log "killing ${name} (pid ${pid})"
      kill -KILL "${pid}"
      stop_process "${name}" 5
    fi
    ;;
  start) start_component "${name}" reuse ;;
  restart)
    stop_process "${name}" 30
    start_component "${name}" reuse
    ;;
  reconfigure)
    stop_process "${name}" 30
    start_component "${name}"
    ;;
  status)
    rc=0
    for c in ${name:-etcd kube-apiserver kube-controller-manager}; do
      if pid="$(pid_of "${c}")"; then
        case "${c}" in
          etcd) probe=etcd_healthy ;;
          kube-apiserver) probe=apiserver_ready ;;
          kube-controller-manager) probe=kcm_healthy ;;
          *) die "unknown component '${c}'" ;;
        esac
        if "${probe}" >/dev/null 2>&1; then echo "${c}: running (pid ${pid}), healthy"; else echo "${c}: running (pid ${pid}), NOT healthy"; rc=1; fi
      else
        echo "${c}: not running"
        [[ -z "${name}" && "${c}" == kube-controller-manager ]] || rc=1
      fi
    done
    exit "${rc}"
    ;;
  etcd-revision) etcd_revision ;;
  etcd-compact)
    rev="${2:-$(etcd_revision)}"
    [[ "${rev}" =~ ^[0-9]+$ ]] || die "revision must be a number, got '${rev}'"
    out="$(curl -sS --max-time 30 -X POST "${ETCD_URL}/v3/kv/compaction" -d "{\"revision\":\"${rev}\",\"physical\":true}")" ||
      die "etcd at ${ETCD_URL} did not answer /v3/kv/compaction"
    if [[ "${out}" == *'"error"'* || "${out}" == *'"code"'* ]]; then
      die "etcd compaction to revision ${rev} failed: ${out}"
    fi
    log "etcd compacted to revision ${rev}"
    ;;
  *) usage ;;
esac
