#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Smoke check of the local control plane: builds (if needed), starts it, exercises it with
# kubectl and helm, restarts kube-apiserver, compacts etcd, and stops it again (down.sh),
# also when a check fails. SMOKE_KEEP_CLUSTER=1 leaves it running.
# Needs kubectl on PATH (or KUBECTL=/path/to/kubectl).
set -Eeuo pipefail

# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

KUBECTL="${KUBECTL:-$(command -v kubectl || true)}"
[[ -n "${KUBECTL}" ]] || die "kubectl not found on PATH (or set KUBECTL=/path/to/kubectl): the smoke check uses it"

passed=0
failed=0
ok() { passed=$((passed + 1)); printf 'smoke: ok   %s\n' "$*"; }
bad() { failed=$((failed + 1)); printf 'smoke: FAIL %s\n' "$*" >&2; }

finish() {
  local rc=$?
  if [[ "${SMOKE_KEEP_CLUSTER:-0}" == 1 ]]; then
    log "SMOKE_KEEP_CLUSTER=1: leaving the control plane running (export KUBECONFIG=${KUBECONFIG_PATH})"
  else
    "${CLUSTER_DIR}/down.sh" || rc=1
  fi
  printf '%s passed, %s failed\n' "${passed}" "${failed}"
  if ((failed > 0)); then rc=1; fi
  exit "${rc}"
}
trap finish EXIT

"${CLUSTER_DIR}/build.sh"
"${CLUSTER_DIR}/up.sh"

k() { "${KUBECTL}" --kubeconfig "${KUBECONFIG_PATH}" --request-timeout=20s "$@"; }
ns="smoke-$(date +%s)-${RANDOM}"

# 1. basic reads
if k get ns >/dev/null; then ok "kubectl get ns"; else bad "kubectl get ns"; fi
version="$(k get --raw /version)"
if [[ "${version}" == *"\"gitVersion\": \"${KUBERNETES_VERSION}\""* ]]; then
  ok "/version reports ${KUBERNETES_VERSION}"
else
  bad "/version does not report ${KUBERNETES_VERSION}: ${version}"
fi

# 2. Deployment + scale subresource
k create namespace "${ns}" >/dev/null
k -n "${ns}" create deployment web --image=nginx --replicas=1 >/dev/null
k -n "${ns}" scale deployment web --replicas=3 >/dev/null
scale="$(k get --raw "/apis/apps/v1/namespaces/${ns}/deployments/web/scale")"
if [[ "${scale}" == *'"kind":"Scale"'* && "${scale}" == *'"spec":{"replicas":3}'* ]]; then
  ok "scale subresource reads spec.replicas=3"
else
  bad "scale subresource: ${scale}"
fi

# 3. ServiceAccount token, authenticated as the ServiceAccount, RBAC enforced
k -n "${ns}" create serviceaccount runner >/dev/null
token="$(k -n "${ns}" create token runner --duration=10m)"
as_sa=("${KUBECTL}" --kubeconfig=/dev/null --server="${APISERVER_URL}" --certificate-authority="${PKI_DIR}/ca.crt" --token="${token}" --request-timeout=20s)
whoami="$("${as_sa[@]}" auth whoami -o jsonpath='{.status.userInfo.username}' 2>&1 || true)"
if [[ "${whoami}" == "system:serviceaccount:${ns}:runner" ]]; then
  ok "kubectl create token; the token authenticates as ${whoami}"
else
  bad "token did not authenticate as the ServiceAccount: ${whoami}"
fi
if denied="$("${as_sa[@]}" -n "${ns}" get deployments 2>&1)"; then
  bad "RBAC: the ServiceAccount without a Role could list deployments"
elif [[ "${denied}" == *Forbidden* || "${denied}" == *forbidden* ]]; then
  ok "RBAC: the ServiceAccount without a Role is forbidden"
else
  bad "RBAC check: unexpected error: ${denied}"
fi

# 4. controller manager (when started): Deployment status and namespace deletion
if pid_of kube-controller-manager >/dev/null; then
  replicas=""
  for _ in $(seq 1 60); do
    replicas="$(k -n "${ns}" get deployment web -o jsonpath='{.status.replicas}')"
    [[ "${replicas}" != 3 ]] || break
    sleep 0.5
  done
  if [[ "${replicas}" == 3 ]]; then ok "kube-controller-manager: Deployment status.replicas=3"; else bad "Deployment status.replicas='${replicas}' after 30s"; fi
fi

# 5. helm against the cluster
if [[ -x "${HELM_BIN}" ]]; then
  helm_short="$("${HELM_BIN}" version --short)"
  if [[ "${helm_short}" == "${HELM_VERSION}"* ]]; then ok "helm version ${helm_short}"; else bad "helm version: ${helm_short}"; fi
  chart_dir="$(mktemp -d)"
  "${HELM_BIN}" create "${chart_dir}/demo" >/dev/null
  if "${HELM_BIN}" --kubeconfig "${KUBECONFIG_PATH}" install demo "${chart_dir}/demo" -n "${ns}" >/dev/null &&
    k -n "${ns}" get deployment demo >/dev/null; then
    ok "helm install of a generated chart (server-side applied; no --wait: there are no nodes)"
  else
    bad "helm install"
  fi
  rm -rf "${chart_dir}"
fi

# 6. restart kube-apiserver with the same flags; state survives
"${CLUSTER_DIR}/ctl.sh" restart kube-apiserver
if k -n "${ns}" get deployment web >/dev/null; then ok "kube-apiserver restart keeps the data"; else bad "after kube-apiserver restart"; fi

# 7. etcd compaction through the gRPC gateway
if "${CLUSTER_DIR}/ctl.sh" etcd-compact; then ok "etcd compaction via POST /v3/kv/compaction"; else bad "etcd compaction"; fi

# 8. namespace deletion completes only with the controller manager
if pid_of kube-controller-manager >/dev/null; then
  if k delete namespace "${ns}" --wait=true --timeout=60s >/dev/null; then ok "namespace deletion completes"; else bad "namespace deletion"; fi
fi
