#!/usr/bin/env bash
# `make kind-up`: creates the KIND cluster from kind/cluster.yaml (idempotent) and waits
# until its nodes are Ready. kind adds the context kind-<name> to your kubeconfig.
set -euo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
require_tools docker kind kubectl

if "${KIND}" get clusters 2>/dev/null | grep -qxF "${KIND_CLUSTER}"; then
  log "cluster ${KIND_CLUSTER} already exists"
else
  log "creating cluster ${KIND_CLUSTER} from kind/cluster.yaml"
  "${KIND}" create cluster --name "${KIND_CLUSTER}" --config "${REPO_ROOT}/kind/cluster.yaml" --wait 180s
fi
kctl wait --for=condition=Ready nodes --all --timeout=180s >/dev/null
kctl get nodes -o wide
log "ready: kubectl --context ${KUBE_CONTEXT} ..."
