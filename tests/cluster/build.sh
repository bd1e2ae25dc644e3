#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds the local control plane from Go modules through the Go module proxy, when missing:
#   etcd, kube-apiserver, kube-controller-manager, helm
# into ${REPLICA_API_CACHE:-<repo>/.cache}/bin/<component>-<version>/<component>.
# The kind node image (scripts/kind/node-image.sh) also asks for kubeadm, kubelet, kubectl,
# kube-scheduler and kube-proxy, built the same way (not part of "all").
# The Kubernetes commands asked for are built together, in one `go build`.
# Versions: tests/cluster/versions.env. Build logs: <cache>/logs/build-<component>-<version>.log (the Kubernetes
# commands: build-kubernetes-<version>.log).
#
# Usage: tests/cluster/build.sh [component...]   (default: all four)
# A second call does nothing when the binaries for the pinned versions exist.
set -Eeuo pipefail

# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

BUILD_DIR="${CACHE_ROOT}/build"
BUILD_LOG_DIR="${CACHE_ROOT}/logs"

usage() { awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "${BASH_SOURCE[0]}"; }

components=()
for arg in "$@"; do
  case "${arg}" in
    etcd | kube-apiserver | kube-controller-manager | helm) components+=("${arg}") ;;
    kubeadm | kubelet | kubectl | kube-scheduler | kube-proxy) components+=("${arg}") ;;
    all) components+=(etcd kube-apiserver kube-controller-manager helm) ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown component '${arg}' (expected etcd, kube-apiserver, kube-controller-manager, helm or all)" ;;
  esac
done
if [[ ${#components[@]} -eq 0 ]]; then
  components=(etcd kube-apiserver kube-controller-manager helm)
fi

bin_of() {
  case "$1" in
    etcd) printf '%s' "${ETCD_BIN}" ;;
    kube-apiserver) printf '%s' "${APISERVER_BIN}" ;;
    kube-controller-manager) printf '%s' "${KCM_BIN}" ;;
    helm) printf '%s' "${HELM_BIN}" ;;
    *) printf '%s' "${BIN_ROOT}/$1-${KUBERNETES_VERSION}/$1" ;;
  esac
}

# Fast path: nothing to do (does not even need Go).
missing=()
for c in "${components[@]}"; do
  [[ -x "$(bin_of "${c}")" ]] || missing+=("${c}")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

find_go
mkdir -p "${BUILD_DIR}" "${BUILD_LOG_DIR}" "${BIN_ROOT}"

# One build at a time per cache (parallel `make` targets, two terminals).
if command -v flock >/dev/null 2>&1; then
  exec 9>"${CACHE_ROOT}/.build.lock"
  if ! flock -n 9; then
    log "another build holds ${CACHE_ROOT}/.build.lock; waiting for it"
    flock -w 3600 9 || die "another build held ${CACHE_ROOT}/.build.lock for an hour; giving up"
  fi
fi

# Use exactly the installed toolchain (never download another one), allow go.mod/go.sum
# updates in the generated wrapper modules, static binaries.
export GOTOOLCHAIN=local
export GOFLAGS="-mod=mod -buildvcs=false"
export CGO_ENABLED=0
# Checksum verification stays ON (GOSUMDB from `go env`, sum.golang.org by default, which the
# go command reaches through the proxy). If it cannot be reached the build fails and says so;
# turning it off is an explicit choice of the caller: GONOSUMDB=... or GOSUMDB=off.

current_log=""
current_component=""
on_error() {
  local rc=$?
  # Failures inside $(...) are reported once, by the top-level shell.
  if [[ ${BASH_SUBSHELL} -gt 0 ]]; then exit "${rc}"; fi
  if [[ -n "${current_log}" && -f "${current_log}" ]]; then
    printf '%s\n' "----- last 40 lines of ${current_log} -----" >&2
    tail -n 40 "${current_log}" >&2 || true
    printf '%s\n' "-----" >&2
    if grep -qiE 'checksum database|sum\.golang\.org|verifying .*: .*(lookup|dial|connect)' "${current_log}"; then
      log "the Go checksum database (GOSUMDB=$("${GO}" env GOSUMDB)) could not be reached or did not verify a module."
      log "verification is left on; to build without it set GONOSUMDB=<module prefixes> or GOSUMDB=off explicitly."
    fi
    if grep -q 'GOTOOLCHAIN=local' "${current_log}"; then
      log "a module needs a newer Go than $("${GO}" env GOVERSION); install it (GOTOOLCHAIN=local forbids downloading one)."
    fi
  fi
  log "building ${current_component:-the control plane} failed (exit ${rc}); full log: ${current_log:-none}"
  exit "${rc}"
}
trap on_error ERR

# json_field <key> : first "key": "value" of go's indented -json output on stdin.
json_field() { sed -n "s/^[[:space:]]*\"$1\": \"\\(.*\\)\",\\{0,1\\}\$/\\1/p" | head -n 1; }

# mod_download <module@version> : prints `go mod download -json` output (logs errors).
mod_download() {
  local out
  if ! out="$(cd "${BUILD_DIR}" && "${GO}" mod download -json "$1" 2>>"${current_log}")"; then
    printf '%s\n' "${out}" >>"${current_log}"
    return 1
  fi
  printf '%s\n' "${out}"
}

# copy_godebug <go.mod> : the godebug line(s)/block of a go.mod.
copy_godebug() {
  awk '
    /^godebug[[:space:]]*\(/ { inblock = 1; found = 1; print; next }
    inblock { print; if ($0 ~ /^\)/) inblock = 0; next }
    /^godebug[[:space:]]/ { found = 1; print }
    END { if (found) print "" }
  ' "$1"
}

# local_replaces <go.mod> <target-prefix> : module paths that the go.mod replaces with a
# local directory starting with <target-prefix> (e.g. ./staging/ or ../).
local_replaces() {
  awk -v pfx="$2" '
    /^replace[[:space:]]*\(/ { inblock = 1; next }
    inblock && /^\)/ { inblock = 0; next }
    inblock && $2 == "=>" && index($3, pfx) == 1 { print $1; next }
    /^replace[[:space:]]/ && $3 == "=>" && index($4, pfx) == 1 { print $2 }
  ' "$1" | sort -u
}

go_directive() { awk '$1 == "go" && NF == 2 { print $2; exit }' "$1"; }

# install_bin <tmpfile> <final path>
install_bin() {
  chmod 0755 "$1"
  mv -f "$1" "$2"
}

# adopt_go_mod DIR: DIR/go.mod.new was just generated. When it differs from the last generated one (new
# version or first run), start from it and drop the old sums; otherwise keep go.mod and go.sum as they are.
adopt_go_mod() {
  if ! cmp -s "$1/go.mod.new" "$1/go.mod.gen" 2>/dev/null; then
    cp "$1/go.mod.new" "$1/go.mod"
    mv -f "$1/go.mod.new" "$1/go.mod.gen"
    rm -f "$1/go.sum"
  else
    rm -f "$1/go.mod.new"
  fi
}

elapsed() { printf '%ss' "$((SECONDS - $1))"; }

# ---------------------------------------------------------------- kubernetes
k8s_wrapper_ready=""
prepare_k8s_wrapper() {
  [[ -z "${k8s_wrapper_ready}" ]] || return 0
  local v="${KUBERNETES_VERSION}" info gomod minor_patch staging m
  [[ "${v}" =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] || die "KUBERNETES_VERSION=${v} is not a v1.Y.Z release"
  K8S_MINOR="${BASH_REMATCH[1]}"
  minor_patch="${v#v1.}"
  STAGING_VERSION="v0.${minor_patch}"
  K8S_WRAPPER="${BUILD_DIR}/kubernetes-${v}"

  log "resolving k8s.io/kubernetes@${v} through $("${GO}" env GOPROXY)"
  info="$(mod_download "k8s.io/kubernetes@${v}")"
  gomod="$(json_field GoMod <<<"${info}")"
  [[ -s "${gomod}" ]] || die "go mod download gave no go.mod for k8s.io/kubernetes@${v}"
  K8S_COMMIT="$(json_field Hash <<<"${info}")"
  K8S_DATE="$(
    cd "${BUILD_DIR}"
    "${GO}" list -m -f '{{if .Time}}{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' "k8s.io/kubernetes@${v}" 2>>"${current_log}"
  )" || K8S_DATE=""

  staging="$(local_replaces "${gomod}" ./staging/)"
  [[ -n "${staging}" ]] || die "no ./staging replace directives found in ${gomod}; this release's layout is not supported"
  printf 'k8s.io/kubernetes %s: %s staging modules replaced with %s\n' "${v}" "$(wc -l <<<"${staging}")" "${STAGING_VERSION}" >>"${current_log}"

  mkdir -p "${K8S_WRAPPER}"
  {
    printf '%s\n\n' "// Generated by tests/cluster/build.sh; builds k8s.io/kubernetes ${v} commands from the module proxy."
    printf 'module replica-api.local/kubernetes-build\n\n'
    printf 'go %s\n\n' "$(go_directive "${gomod}")"
    copy_godebug "${gomod}"
    printf 'require k8s.io/kubernetes %s\n\n' "${v}"
    printf 'replace (\n'
    while IFS= read -r m; do
      printf '\t%s => %s %s\n' "${m}" "${m}" "${STAGING_VERSION}"
    done <<<"${staging}"
    printf ')\n'
  } >"${K8S_WRAPPER}/go.mod.new"
  adopt_go_mod "${K8S_WRAPPER}"
  k8s_wrapper_ready=1
}

# build_k8s_cmds <name>...: the k8s.io/kubernetes commands in ONE `go build`, which loads the package graph once,
# compiles each shared package once and keeps both cores busy while one command links and another still compiles
# (one build per command, in turn, took 320 s for the seven of the kind node image; most of that was repeated work).
build_k8s_cmds() {
  local names=("$@") out tmpdir start ldflags=() p name pkgs=()
  current_component="${names[*]} ${KUBERNETES_VERSION}"
  current_log="${BUILD_LOG_DIR}/build-kubernetes-${KUBERNETES_VERSION}.log"
  printf '=== %s: %s\n' "$(date -u +%FT%TZ)" "${names[*]}" >>"${current_log}"
  start=${SECONDS}
  log "building ${names[*]} ${KUBERNETES_VERSION} in one go build (log: ${current_log}) (minutes when cold)"
  prepare_k8s_wrapper
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=("-X ${p}.gitVersion=${KUBERNETES_VERSION}" "-X ${p}.gitMajor=1" "-X ${p}.gitMinor=${K8S_MINOR}" "-X ${p}.gitTreeState=clean")
    [[ -z "${K8S_COMMIT}" ]] || ldflags+=("-X ${p}.gitCommit=${K8S_COMMIT}")
    [[ -z "${K8S_DATE}" ]] || ldflags+=("-X ${p}.buildDate=${K8S_DATE}")
  done
  for name in "${names[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/${name}"); done
  tmpdir="${BIN_ROOT}/.kubernetes-${KUBERNETES_VERSION}.tmp"
  rm -rf "${tmpdir}" && mkdir -p "${tmpdir}"
  (
    cd "${K8S_WRAPPER}"
    set -x
    # -o <dir>/ with several main packages: one binary per package, named after it.
    "${GO}" build -trimpath -ldflags "-s -w ${ldflags[*]}" -o "${tmpdir}/" "${pkgs[@]}"
  ) >>"${current_log}" 2>&1
  for name in "${names[@]}"; do
    out="$(bin_of "${name}")"
    mkdir -p "$(dirname "${out}")"
    install_bin "${tmpdir}/${name}" "${out}"
    log "built ${out}"
  done
  rm -rf "${tmpdir}"
  log "built ${names[*]} in $(elapsed "${start}")"
}

# ---------------------------------------------------------------- etcd
build_etcd() {
  local v="${ETCD_VERSION}" out tmp start info gomod wrapper siblings m commit
  out="$(bin_of etcd)"
  current_component="etcd ${v}"
  current_log="${BUILD_LOG_DIR}/build-etcd-${v}.log"
  : >"${current_log}"
  start=${SECONDS}
  log "building etcd ${v} (log: ${current_log})"
  info="$(mod_download "go.etcd.io/etcd/server/v3@${v}")"
  gomod="$(json_field GoMod <<<"${info}")"
  [[ -s "${gomod}" ]] || die "go mod download gave no go.mod for go.etcd.io/etcd/server/v3@${v}"
  commit="$(json_field Hash <<<"${info}")"
  # The server's go.mod replaces its sibling modules with ../<dir>; pin them to the same tag.
  siblings="$(local_replaces "${gomod}" ../)"
  wrapper="${BUILD_DIR}/etcd-${v}"
  mkdir -p "${wrapper}"
  {
    printf '%s\n\n' "// Generated by tests/cluster/build.sh; builds etcd ${v} from the module proxy."
    printf 'module replica-api.local/etcd-build\n\n'
    printf 'go %s\n\n' "$(go_directive "${gomod}")"
    copy_godebug "${gomod}"
    printf 'require go.etcd.io/etcd/server/v3 %s\n' "${v}"
    if [[ -n "${siblings}" ]]; then
      printf '\nreplace (\n'
      while IFS= read -r m; do printf '\t%s => %s %s\n' "${m}" "${m}" "${v}"; done <<<"${siblings}"
      printf ')\n'
    fi
  } >"${wrapper}/go.mod.new"
  adopt_go_mod "${wrapper}"
  mkdir -p "$(dirname "${out}")"
  tmp="$(dirname "${out}")/.etcd.tmp"
  (
    cd "${wrapper}"
    set -x
    "${GO}" build -trimpath -ldflags "-s -w${commit:+ -X go.etcd.io/etcd/api/v3/version.GitSHA=${commit:0:9}}" -o "${tmp}" go.etcd.io/etcd/server/v3
  ) >>"${current_log}" 2>&1
  install_bin "${tmp}" "${out}"
  log "built ${out} in $(elapsed "${start}")"
}

# ---------------------------------------------------------------- helm
build_helm() {
  local v="${HELM_VERSION}" out tmpdir start info gomod commit cgo major minor ldflags
  out="$(bin_of helm)"
  current_component="helm ${v}"
  current_log="${BUILD_LOG_DIR}/build-helm-${v}.log"
  : >"${current_log}"
  start=${SECONDS}
  log "building helm ${v} (log: ${current_log})"
  [[ "${v}" =~ ^v3\. ]] || die "HELM_VERSION=${v}: only helm v3 (helm.sh/helm/v3) is supported"
  info="$(mod_download "helm.sh/helm/v3@${v}")"
  gomod="$(json_field GoMod <<<"${info}")"
  commit="$(json_field Hash <<<"${info}")"
  ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=${v} -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  [[ -z "${commit}" ]] || ldflags+=" -X helm.sh/helm/v3/internal/version.gitCommit=${commit}"
  # Like helm's Makefile: the default .Capabilities.KubeVersion follows its client-go.
  cgo="$(awk '$1 == "k8s.io/client-go" { print $2; exit }' "${gomod}")"
  if [[ "${cgo}" =~ ^v0\.([0-9]+)\. ]]; then
    major=1 minor="${BASH_REMATCH[1]}"
    for p in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
      ldflags+=" -X ${p}.k8sVersionMajor=${major} -X ${p}.k8sVersionMinor=${minor}"
    done
  fi
  mkdir -p "$(dirname "${out}")"
  tmpdir="$(dirname "${out}")/.gobin.tmp"
  rm -rf "${tmpdir}"
  (
    cd "${BUILD_DIR}"
    set -x
    # `go install pkg@version` ignores any go.mod; -mod must not be set for it.
    GOFLAGS=-buildvcs=false GOBIN="${tmpdir}" "${GO}" install -trimpath -ldflags "${ldflags}" "helm.sh/helm/v3/cmd/helm@${v}"
  ) >>"${current_log}" 2>&1
  install_bin "${tmpdir}/helm" "${out}"
  rm -rf "${tmpdir}"
  log "built ${out} in $(elapsed "${start}")"
}

total_start=${SECONDS}
k8s_cmds=()
for c in "${missing[@]}"; do
  if [[ -x "$(bin_of "${c}")" ]]; then continue; fi # built by a concurrent run meanwhile
  case "${c}" in
    etcd) build_etcd ;;
    helm) build_helm ;;
    *) k8s_cmds+=("${c}") ;;
  esac
done
if ((${#k8s_cmds[@]} > 0)); then build_k8s_cmds "${k8s_cmds[@]}"; fi
current_log=""
log "control plane binaries ready under ${BIN_ROOT} ($(elapsed "${total_start}"))"
