#!/usr/bin/env bash
# `make kind-down`: deletes the KIND cluster (and its kubeconfig context).
set -euo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
require_tools docker kind

if "${KIND}" get clusters 2>/dev/null | grep -qxF "${KIND_CLUSTER}"; then
  "${KIND}" delete cluster --name "${KIND_CLUSTER}"
else
  log "cluster ${KIND_CLUSTER} does not exist"
fi
rm -rf "${KIND_STATE_DIR}"
