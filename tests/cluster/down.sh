#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Stops the local control plane started by tests/cluster/up.sh (only the processes recorded
# in its pid files, after checking that each pid still runs the recorded binary), waits for
# them to exit, and deletes its state (etcd data, certificates, logs, kubeconfig).
# Idempotent. CLUSTER_KEEP_STATE=1 keeps the state directory (e.g. to read the logs).
set -Eeuo pipefail

# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

if [[ ! -d "${STATE_DIR}" ]]; then
  log "no local control plane state at ${STATE_DIR}; nothing to stop"
  exit 0
fi
lock_state

for c in kube-controller-manager kube-apiserver etcd; do
  stop_process "${c}" 30
done

if [[ "${CLUSTER_KEEP_STATE:-0}" == 1 ]]; then
  log "stopped; state kept in ${STATE_DIR} (CLUSTER_KEEP_STATE=1)"
else
  rm -rf "${STATE_DIR}"
  log "stopped; removed ${STATE_DIR}"
fi
