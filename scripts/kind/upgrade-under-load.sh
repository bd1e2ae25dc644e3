#!/usr/bin/env bash
# Upgrade under load (part of `make integration-test-kind`; alone: `make kind-upgrade-test`).
# A pod in the cluster calls GET /api/v1/health through the Service with the client
# certificate, a new TLS connection per request (so every request is routed afresh), ~10
# requests/s for LOAD_SECONDS. Meanwhile `helm upgrade --reset-then-reuse-values` changes a pod
# annotation, which rolls every pod (surge first, preStop sleep, drain). Passes only when
# every request answered 200 and the rollout replaced every pod before the load ended.
set -euo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
require_tools kubectl helm
require_context

ns="${RELEASE_NAMESPACE}"
full="$(fullname)"
seconds="${LOAD_SECONDS:-180}"
load_pod="${RELEASE}-upgrade-load"
client_secret="${RELEASE}-client-tls"
hlm status "${RELEASE}" --namespace "${ns}" >/dev/null 2>&1 || die "release ${RELEASE} not found in ${ns}: run 'make deploy' first"
kctl --namespace "${ns}" get secret "${client_secret}" >/dev/null || die "Secret ${ns}/${client_secret} not found: run 'make deploy' first"
# The curl image of the chart's helm test (one pinned tag for both).
curl_image="$("${HELM}" template x "${CHART_DIR}" --set tests.clientCertSecret=x --show-only templates/tests/test-health.yaml |
  sed -n 's/^ *image: "\(.*\)"$/\1/p')"
[[ -n "${curl_image}" ]] || die "could not read the curl image from the chart's test pod"
url="https://${full}.${ns}.svc:${SERVICE_PORT:-8443}/api/v1/health"

cleanup() { kctl --namespace "${ns}" delete pod "${load_pod}" --ignore-not-found --wait=false >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup
kctl --namespace "${ns}" wait --for=delete "pod/${load_pod}" --timeout=60s >/dev/null 2>&1 || true

# shellcheck disable=SC2016  # $-expressions are for the pod's shell
loop='end=$(( $(date +%s) + SECONDS_TOTAL )); ok=0; failed=0
while [ "$(date +%s)" -lt "$end" ]; do
  out=$(curl -sS -o /dev/null -w "%{http_code}" --max-time 5 --cert /tls/tls.crt --key /tls/tls.key --cacert /tls/ca.crt "$URL" 2>&1)
  if [ "$out" = 200 ]; then ok=$((ok + 1)); else failed=$((failed + 1)); echo "FAIL $(date -u +%H:%M:%S) $out"; fi
  sleep 0.1
done
echo "RESULT ok=$ok failed=$failed"'

# UPGRADE_LOAD_DRY_RUN=1 only validates the load pod server-side (scripts/chart-test.sh uses it
# on a control plane without nodes) and stops there.
dry_run=()
[[ "${UPGRADE_LOAD_DRY_RUN:-0}" != 1 ]] || dry_run=(--dry-run=server)
kctl --namespace "${ns}" apply "${dry_run[@]}" -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: ${load_pod}
  labels:
    app.kubernetes.io/name: replica-api-load
    app.kubernetes.io/instance: ${RELEASE}
    app.kubernetes.io/component: load-test
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext:
    runAsNonRoot: true
    runAsUser: 100
    runAsGroup: 101
    seccompProfile: {type: RuntimeDefault}
  containers:
    - name: load
      image: "${curl_image}"
      command:
        - sh
        - -c
        - |
          ${loop//$'\n'/$'\n'          }
      env:
        - {name: URL, value: "${url}"}
        - {name: SECONDS_TOTAL, value: "${seconds}"}
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities: {drop: ["ALL"]}
      volumeMounts:
        - {name: tls, mountPath: /tls, readOnly: true}
  volumes:
    - name: tls
      secret: {secretName: ${client_secret}}
YAML
if [[ "${UPGRADE_LOAD_DRY_RUN:-0}" == 1 ]]; then
  log "dry run: the load pod was accepted by the API server"
  exit 0
fi
kctl --namespace "${ns}" wait --for=jsonpath='{.status.phase}'=Running "pod/${load_pod}" --timeout=120s >/dev/null ||
  die "load pod did not start: $(kctl --namespace "${ns}" describe pod "${load_pod}" | tail -n 5)"
started=${SECONDS}
log "load running for ${seconds}s against ${url}"
sleep 5

selector="app.kubernetes.io/name=replica-api,app.kubernetes.io/instance=${RELEASE}"
before="$(kctl --namespace "${ns}" get pods -l "${selector}" -o jsonpath='{.items[*].metadata.name}')"
log "helm upgrade (rolling pods: ${before})"
hlm upgrade "${RELEASE}" "${CHART_DIR}" --namespace "${ns}" --reset-then-reuse-values \
  --set-string "podAnnotations.replica-api/restarted-at=$(date -u +%Y%m%dT%H%M%SZ)" --wait --timeout "${DEPLOY_TIMEOUT:-5m}" >/dev/null
kctl --namespace "${ns}" rollout status "deployment/${full}" --timeout="${DEPLOY_TIMEOUT:-5m}"
# Old pods may still be terminating: wait until none of them is left.
for old in ${before}; do
  kctl --namespace "${ns}" wait --for=delete "pod/${old}" --timeout=120s >/dev/null 2>&1 || true
done
rolled=$((SECONDS - started))
((rolled + 5 < seconds)) || die "the rollout took ${rolled}s, not within the ${seconds}s of load: raise LOAD_SECONDS"
log "rollout done after ${rolled}s of load; waiting for the load to finish"

kctl --namespace "${ns}" wait --for=jsonpath='{.status.phase}'=Succeeded "pod/${load_pod}" --timeout="$((seconds + 60))s" >/dev/null ||
  die "load pod did not finish: $(kctl --namespace "${ns}" logs "${load_pod}" --tail=5)"
logs="$(kctl --namespace "${ns}" logs "${load_pod}")"
grep '^FAIL' <<<"${logs}" | head -n 20 >&2 || true
result="$(grep '^RESULT' <<<"${logs}" | tail -n 1)"
[[ "${result}" =~ ok=([0-9]+)\ failed=([0-9]+) ]] || die "no RESULT line in the load pod's log"
ok="${BASH_REMATCH[1]}" failed="${BASH_REMATCH[2]}"
log "${ok} requests answered 200, ${failed} failed during the upgrade"
((failed == 0)) || die "FAILED: ${failed} requests failed while the pods rolled"
((ok >= 100)) || die "FAILED: only ${ok} requests were made; the load did not run"
log "PASSED: zero failed requests during helm upgrade"
