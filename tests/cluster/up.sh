#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Starts a local Kubernetes control plane as processes (like controller-runtime's envtest):
# etcd + kube-apiserver + kube-controller-manager (skipped with WITH_CONTROLLER_MANAGER=0), on
# loopback ports, built by tests/cluster/build.sh when missing. Idempotent: what is already
# running and healthy is reused; a component that is down is started again.
# The processes keep running after this script exits; stop them with tests/cluster/down.sh.
#
# State (certificates, etcd data, logs, pid files, kubeconfig, cluster.env):
#   ${REPLICA_API_CACHE:-<repo>/.cache}/cluster/
# Settings: see tests/cluster/lib.sh (ports, timeouts, extra flags).
set -Eeuo pipefail

# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

command -v curl >/dev/null 2>&1 || die "curl not found: it is needed to check the control plane's health"
command -v setsid >/dev/null 2>&1 || die "setsid not found (util-linux): it is needed to detach the servers"

components=(etcd kube-apiserver)
if [[ "${WITH_CONTROLLER_MANAGER}" == 1 ]]; then
  components+=(kube-controller-manager)
fi

start=${SECONDS}
"${CLUSTER_DIR}/build.sh" "${components[@]}"

mkdir -p "${STATE_DIR}" "${LOG_DIR}" "${RUN_DIR}"
# One up/down at a time per state directory.
lock_state

ensure_pki
write_kubeconfig "${KUBECONFIG_PATH}" admin "${PKI_DIR}/admin.crt" "${PKI_DIR}/admin.key"
write_kubeconfig "${STATE_DIR}/kcm.kubeconfig" system:kube-controller-manager "${PKI_DIR}/kcm.crt" "${PKI_DIR}/kcm.key"
write_cluster_env

# If starting fails, stop what this run started (logs stay in the state directory).
started=()
stop_started_on_failure() {
  local rc=$? i
  if ((rc != 0 && ${#started[@]} > 0)); then
    for ((i = ${#started[@]} - 1; i >= 0; i--)); do stop_process "${started[i]}" 30 || true; done
    log "start failed; stopped what this run started. Logs: ${LOG_DIR}"
  fi
  exit "${rc}"
}
trap stop_started_on_failure EXIT

for c in "${components[@]}"; do
  pid_of "${c}" >/dev/null || started+=("${c}")
  start_component "${c}"
done
if [[ "${WITH_CONTROLLER_MANAGER}" != 1 ]] && pid="$(pid_of kube-controller-manager)"; then
  log "note: kube-controller-manager from an earlier start is still running (pid ${pid})"
fi

log "control plane ready in $((SECONDS - start))s: kube-apiserver ${KUBERNETES_VERSION} at ${APISERVER_URL}, etcd ${ETCD_VERSION} at ${ETCD_URL}"
cat <<EOF
Use it:
  export KUBECONFIG=${KUBECONFIG_PATH}
  kubectl get ns
Details for tests: ${CLUSTER_ENV}
Restart one component: tests/cluster/ctl.sh restart kube-apiserver
Stop and delete it:    tests/cluster/down.sh
EOF
