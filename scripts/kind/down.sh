#!/usr/bin/env bash
# `make kind-down`: deletes the KIND cluster (and its kubeconfig context), then engine.sh down:
# dockerd stops only if this clone started it; the isolation rules go and sysctls are restored.
# KIND_STATUS_FILE, when set, gets "down: ...".
set -euo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
LOG_PREFIX=kind-down

if ! "${DOCKER}" info >/dev/null 2>&1; then
  log "no Docker answers: no cluster to delete"
elif [[ -x "$(command -v "${KIND}")" ]] && "${KIND}" get clusters 2>/dev/null | grep -qxF "${KIND_CLUSTER}"; then
  "${KIND}" delete cluster --name "${KIND_CLUSTER}"
elif nodes="$("${DOCKER}" ps -aq --filter "label=io.x-k8s.kind.cluster=${KIND_CLUSTER}")" && [[ -n "${nodes}" ]]; then
  log "kind (${KIND}) is not built; removing the node containers of ${KIND_CLUSTER} directly"
  # shellcheck disable=SC2086  # one id per word
  "${DOCKER}" rm -f ${nodes} >/dev/null
else
  log "cluster ${KIND_CLUSTER} does not exist"
fi
rm -rf "${KIND_STATE_DIR}"
[[ -z "${KIND_STATUS_FILE:-}" ]] || echo "down: cluster ${KIND_CLUSTER} deleted by make kind-down" >"${KIND_STATUS_FILE}"
"${KIND_SCRIPTS_DIR}/engine.sh" down
