#!/usr/bin/env bash
# `make undeploy`: uninstalls the release and removes what deploy.sh created around it
# (the client certificate Secret, and the namespace when deploy.sh created it).
set -euo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
require_tools kubectl helm
require_context

if hlm status "${RELEASE}" --namespace "${RELEASE_NAMESPACE}" >/dev/null 2>&1; then
  hlm uninstall "${RELEASE}" --namespace "${RELEASE_NAMESPACE}" --wait --timeout "${DEPLOY_TIMEOUT:-5m}"
else
  log "release ${RELEASE} is not installed in ${RELEASE_NAMESPACE}"
fi
kctl -n "${RELEASE_NAMESPACE}" delete secret "${RELEASE}-client-tls" --ignore-not-found >/dev/null 2>&1 || true
# Only a namespace deploy.sh created (labelled by it); never one that existed before.
if [[ "$(kctl get namespace "${RELEASE_NAMESPACE}" -o jsonpath='{.metadata.labels.replica-api\.dev/created-by}' 2>/dev/null)" == deploy ]]; then
  kctl delete namespace "${RELEASE_NAMESPACE}" --wait="${UNDEPLOY_WAIT:-true}"
  log "removed ${RELEASE} and namespace ${RELEASE_NAMESPACE}"
else
  log "removed ${RELEASE}; namespace ${RELEASE_NAMESPACE} kept (deploy.sh did not create it)"
fi
