#!/usr/bin/env bash
# The benchmarks' own local control plane: a second instance of tests/cluster with its own state
# folder and ports, so `make bench` / `make faults` (which stop, kill and compact it) never touch
# the control plane `make test` uses. Binaries are shared: its cache root's bin/ is a symlink to
# the main cache's bin/, so nothing is rebuilt.
#
# Usage:
#   bench/cluster.sh up             start it (idempotent), print nothing but the path of its cluster.env
#   bench/cluster.sh down           stop it and delete its state
#   bench/cluster.sh ctl <args...>  tests/cluster/ctl.sh against it (stop|kill|start|restart <component>,
#                                   status, etcd-compact, ...)
#   bench/cluster.sh env            print the path of its cluster.env
#
# Environment:
#   BENCH_CLUSTER_CACHE   cache root of the bench instance (default <repo>/.cache/bench/cp); a second
#                         concurrent bench run needs its own root and ports
#   BENCH_APISERVER_PORT, BENCH_ETCD_PORT, BENCH_ETCD_PEER_PORT, BENCH_KCM_PORT
#                         ports (default 36443, 33790, 33800, 36257; the test instance uses 26443, 23790, 23800, 26257)
#   BENCH_WITH_CONTROLLER_MANAGER   default 0: 10,000 Deployments would make kube-controller-manager create
#                         ReplicaSets and Pods and load the machine the benchmarks run on
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
shared_bin="${REPLICA_API_CACHE:-${repo}/.cache}/bin"
root="${BENCH_CLUSTER_CACHE:-${repo}/.cache/bench/cp}"
mkdir -p "${root}" "${shared_bin}"
if [[ ! -e "${root}/bin" ]]; then
  ln -s "${shared_bin}" "${root}/bin"
fi

export REPLICA_API_CACHE="${root}"
export CLUSTER_APISERVER_PORT="${BENCH_APISERVER_PORT:-36443}"
export CLUSTER_ETCD_PORT="${BENCH_ETCD_PORT:-33790}"
export CLUSTER_ETCD_PEER_PORT="${BENCH_ETCD_PEER_PORT:-33800}"
export CLUSTER_KCM_PORT="${BENCH_KCM_PORT:-36257}"
export WITH_CONTROLLER_MANAGER="${BENCH_WITH_CONTROLLER_MANAGER:-0}"

case "${1:-}" in
  up)
    "${repo}/tests/cluster/up.sh" >&2
    printf '%s\n' "${root}/cluster/cluster.env"
    ;;
  down) exec "${repo}/tests/cluster/down.sh" ;;
  ctl)
    shift
    exec "${repo}/tests/cluster/ctl.sh" "$@"
    ;;
  env) printf '%s\n' "${root}/cluster/cluster.env" ;;
  *)
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
