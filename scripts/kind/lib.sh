# shellcheck shell=bash disable=SC2034  # settings used by the scripts that source this
# Shared settings and helpers of scripts/kind/*.sh (the KIND workflow of mk/packaging.mk).
# Source it; it runs nothing. Every setting can be overridden from the environment:
#
#   KIND_CLUSTER       kind cluster name                       (default replica-api)
#   KUBE_CONTEXT       kubeconfig context of every kubectl/helm call (default kind-$KIND_CLUSTER)
#   RELEASE            Helm release name                       (default replica-api)
#   RELEASE_NAMESPACE  namespace of the release                (default replica-api)
#   IMAGE              image repository                        (default replica-api)
#   VERSION            image tag                               (default: first version in CHANGELOG.md)
#   CERTS_DIR          dev PKI written by certs/gen.sh         (default <repo>/certs)
#   HELM, KUBECTL, DOCKER         commands to use              (default: found on PATH)
#   KIND               kind CLI (default: the pinned KIND_VERSION of tests/cluster/versions.env,
#                      built by scripts/kind/kind.sh into the artifact cache)
#   REPLICA_API_ARTIFACTS  artifact cache shared by every clone on this machine: version-keyed,
#                      immutable things that are slow to make (kind, the node image's binaries,
#                      Docker's data-root with the node image loaded)
#                      (default ${XDG_CACHE_HOME:-$HOME/.cache}/replica-api)
#   REPLICA_API_CACHE  per-clone state: pid files, logs, kubeconfigs  (default <repo>/.cache)
#
# Every kubectl and helm call names KUBE_CONTEXT explicitly: these scripts never act on
# whatever cluster happens to be the current context.

KIND_SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${KIND_SCRIPTS_DIR}/../.." && pwd)"
CHART_DIR="${REPO_ROOT}/helm/replica-api"

KIND_CLUSTER="${KIND_CLUSTER:-replica-api}"
KUBE_CONTEXT="${KUBE_CONTEXT:-kind-${KIND_CLUSTER}}"
RELEASE="${RELEASE:-replica-api}"
RELEASE_NAMESPACE="${RELEASE_NAMESPACE:-replica-api}"
IMAGE="${IMAGE:-replica-api}"
VERSION="${VERSION:-$("${KIND_SCRIPTS_DIR}/version.sh")}"
CERTS_DIR="${CERTS_DIR:-${REPO_ROOT}/certs}"
# shellcheck source=../../tests/cluster/versions.env
source "${REPO_ROOT}/tests/cluster/versions.env"
CLONE_CACHE="${REPLICA_API_CACHE:-${REPO_ROOT}/.cache}"
KIND_STATE_DIR="${CLONE_CACHE}/kind"
ENGINE_STATE_DIR="${CLONE_CACHE}/engine"
ARTIFACTS_DIR="${REPLICA_API_ARTIFACTS:-${XDG_CACHE_HOME:-${HOME}/.cache}/replica-api}"
KIND_BIN="${ARTIFACTS_DIR}/bin/kind-${KIND_VERSION}/kind"
KIND="${KIND:-${KIND_BIN}}"
DOCKER="${DOCKER:-docker}"
KUBECTL="${KUBECTL:-kubectl}"
# helm on PATH, else the one tests/cluster/build.sh caches.
if [[ -z "${HELM:-}" ]]; then
  HELM="$(command -v helm || true)"
  if [[ -z "${HELM}" ]]; then
    HELM="${REPO_ROOT}/.cache/bin/helm-${HELM_VERSION}/helm"
  fi
fi

LOG_PREFIX="${LOG_PREFIX:-kind-$(basename "$0" .sh)}"
log() { printf '%s\n' "${LOG_PREFIX}: $*" >&2; }
die() { printf '%s\n' "${LOG_PREFIX}: $*" >&2; exit 1; }

# install_hint <tool>: how to get it, in one line.
install_hint() {
  case "$1" in
    docker) echo "install Docker (https://docs.docker.com/engine/install/) and start it" ;;
    kind) echo "build the pinned kind with scripts/kind/kind.sh (go install sigs.k8s.io/kind@${KIND_VERSION}), or set KIND=/path/to/kind" ;;
    kubectl) echo "install kubectl (https://kubernetes.io/docs/tasks/tools/)" ;;
    helm) echo "install helm v3 (https://helm.sh/docs/intro/install/) or build it with tests/cluster/build.sh helm" ;;
    *) echo "install $1" ;;
  esac
}

# missing_tool <tool>: prints the one-line reason <tool> cannot be used; empty when usable.
# Docker counts as missing when its daemon does not answer (a client alone cannot build or run KIND).
missing_tool() {
  local cmd
  case "$1" in
    docker) cmd="${DOCKER}" ;; kind) cmd="${KIND}" ;; kubectl) cmd="${KUBECTL}" ;; helm) cmd="${HELM}" ;; *) cmd="$1" ;;
  esac
  if ! command -v "${cmd}" >/dev/null 2>&1; then
    echo "$1 not found: $(install_hint "$1")"
  elif [[ "$1" == docker ]] && ! "${cmd}" info >/dev/null 2>&1; then
    echo "docker is installed but its daemon is not reachable ('docker info' fails): start Docker, or $(install_hint docker)"
  fi
}

# require_tools <tool>...: fails with the first missing tool's one-line message.
require_tools() {
  local t why
  for t in "$@"; do
    why="$(missing_tool "$t")"
    [[ -z "${why}" ]] || die "${why}"
  done
}

# kind_skip_reason: why the KIND path cannot run here (printed, exit 0), or nothing (exit 1) when it can: a Docker
# answers, or this is root on a host with apt-get, where scripts/kind/engine.sh installs and starts Debian's.
kind_skip_reason() {
  timeout 10 "${DOCKER}" info >/dev/null 2>&1 && return 1
  if [[ "$(id -u)" != 0 ]]; then
    echo "no container engine answers ('docker info' fails) and installing one needs root"
  elif ! command -v apt-get >/dev/null 2>&1; then
    echo "no container engine answers ('docker info' fails) and this host has no apt-get to install Debian's"
  else
    return 1
  fi
}

kctl() { "${KUBECTL}" --context "${KUBE_CONTEXT}" "$@"; }
hlm() { "${HELM}" --kube-context "${KUBE_CONTEXT}" "$@"; }

# require_context: the kubeconfig knows KUBE_CONTEXT (for kind: the cluster was created).
require_context() {
  "${KUBECTL}" config get-contexts -o name 2>/dev/null | grep -qxF "${KUBE_CONTEXT}" ||
    die "kubeconfig context ${KUBE_CONTEXT} not found: run 'make kind-up' first (or set KUBE_CONTEXT)"
}

# fullname: the chart's object name for RELEASE (helper replica-api.fullname).
fullname() {
  if [[ "${RELEASE}" == *replica-api* ]]; then echo "${RELEASE}"; else echo "${RELEASE}-replica-api"; fi
}

# kind_kubeconfig: writes KIND_STATE_DIR/kubeconfig holding KUBE_CONTEXT alone (mode 600) and prints its path, so a
# suite's kubectl can act on the KIND cluster only, whatever else the user's kubeconfig holds.
kind_kubeconfig() {
  local kubeconfig="${KIND_STATE_DIR}/kubeconfig"
  mkdir -p "${KIND_STATE_DIR}"
  (umask 077 && "${KUBECTL}" config view --minify --flatten --context "${KUBE_CONTEXT}" >"${kubeconfig}")
  KUBECONFIG="${kubeconfig}" "${KUBECTL}" config use-context "${KUBE_CONTEXT}" >/dev/null
  echo "${kubeconfig}"
}
