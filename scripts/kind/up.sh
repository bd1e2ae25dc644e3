#!/usr/bin/env bash
# `make kind-up`: the KIND cluster KIND_CLUSTER (context kind-<name>) from kind/cluster.yaml,
# ready for the chart: every node Ready, pod network, CoreDNS (answering cluster names only),
# NetworkPolicy enforced by kube-router's firewall, every image preloaded (no Pod ever pulls).
#  1. engine.sh up (Docker: the running one, or Debian's started here) and the pinned kind CLI
#  2. node-image.sh (when a cluster must be created): the published kindest/node, else one built
#     offline (cached)
#  3. the rendered config: kind/cluster.yaml plus the offline image's etcd/CoreDNS tags and, where
#     containers cannot lower oom_score_adj (this VM), containerd's restrict_oom_score_adj
#  4. kind create cluster, unless it already runs (a running cluster is kept even when the node
#     image has changed since: `make kind-down kind-up` moves it; one left stopped by a killed
#     engine is recreated)
#  5. CNI config (ptp + host-local + portmap) with each node's podCIDR, routes between nodes,
#     CoreDNS without forward/loop, kube-router; then waits for all of it.
# KIND_STATUS_FILE, when set, gets one line: "up: context ..., kubeconfig ..." or what is wrong.
set -euo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
LOG_PREFIX=kind-up
WAIT_TIMEOUT="${KIND_WAIT_TIMEOUT:-300s}"

status_line() {
  [[ -z "${KIND_STATUS_FILE:-}" ]] || printf '%s\n' "$*" >"${KIND_STATUS_FILE}"
}
on_exit() {
  local rc=$?
  ((rc == 0)) || status_line "down: make kind-up failed (exit ${rc}); see its output"
}
trap on_exit EXIT

node_containers() { "${DOCKER}" ps -a --filter "label=io.x-k8s.kind.cluster=${KIND_CLUSTER}" --format '{{.Names}}'; }

# cluster_running: node containers exist, all run, and the API server answers.
cluster_running() {
  local node n=0
  for node in $(node_containers); do
    n=$((n + 1))
    [[ "$("${DOCKER}" inspect --format '{{.State.Running}}' "${node}")" == true ]] || return 1
  done
  ((n > 0)) || return 1
  # Another clone, or another HOME, may have created it: make sure our kubeconfig has the context.
  "${KIND}" export kubeconfig --name "${KIND_CLUSTER}" >/dev/null 2>&1 || return 1
  kctl get --raw /readyz >/dev/null 2>&1
}

# node_image: the image the cluster's nodes run.
node_image() { "${DOCKER}" inspect --format '{{.Config.Image}}' "$(node_containers | head -n 1)"; }

# oom_score_adj_restricted: even root cannot lower oom_score_adj here (no CAP_SYS_RESOURCE), so
# neither can containerd inside a node. (Only root can tell: for anyone else lowering always fails.)
oom_score_adj_restricted() { [[ "$(id -u)" == 0 ]] && ! (echo -1 >/proc/self/oom_score_adj) 2>/dev/null; }

# render_config <image> <file>
render_config() {
  local image="$1" out="$2" etcd coredns
  cp "${REPO_ROOT}/kind/cluster.yaml" "${out}"
  etcd="$("${DOCKER}" image inspect --format '{{index .Config.Labels "dev.replica-api.etcd-tag"}}' "${image}")"
  coredns="$("${DOCKER}" image inspect --format '{{index .Config.Labels "dev.replica-api.coredns-tag"}}' "${image}")"
  if [[ -n "${etcd}" && -n "${coredns}" ]]; then
    cat >>"${out}" <<EOF
  # Added by scripts/kind/up.sh: the etcd and CoreDNS images preloaded in ${image}.
  - |
    kind: ClusterConfiguration
    etcd:
      local:
        imageTag: ${etcd}
    dns:
      imageTag: ${coredns}
EOF
  fi
  if oom_score_adj_restricted; then
    cat >>"${out}" <<'EOF'
# Added by scripts/kind/up.sh: processes here cannot lower oom_score_adj, so pod sandboxes fail
# unless containerd clamps it.
containerdConfigPatches:
  - |
    [plugins."io.containerd.grpc.v1.cri"]
      restrict_oom_score_adj = true
EOF
  fi
}

create_cluster() {
  local image="$1" config="${KIND_STATE_DIR}/cluster.yaml"
  render_config "${image}" "${config}"
  if [[ -n "$(node_containers)" ]]; then
    log "cluster ${KIND_CLUSTER} exists but does not run (stopped nodes, e.g. after a killed engine); recreating it"
    "${KIND}" delete cluster --name "${KIND_CLUSTER}"
  fi
  log "creating cluster ${KIND_CLUSTER} on ${image} (config ${config})"
  "${KIND}" create cluster --name "${KIND_CLUSTER}" --image "${image}" --config "${config}" --wait 0s
}

# pod_network: each node gets a CNI config for its own podCIDR and a route to every other
# node's podCIDR (the nodes share one Docker network). Idempotent.
pod_network() {
  local nodes node cidr ip other
  kctl wait --for=jsonpath='{.spec.podCIDR}' nodes --all --timeout="${WAIT_TIMEOUT}" >/dev/null
  nodes="$(kctl get nodes -o jsonpath='{range .items[*]}{.metadata.name} {.spec.podCIDR} {.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}')"
  while read -r node cidr ip; do
    "${DOCKER}" exec -i "${node}" sh -c 'mkdir -p /etc/cni/net.d && cat >/etc/cni/net.d/10-replica-api.conflist.tmp &&
      mv /etc/cni/net.d/10-replica-api.conflist.tmp /etc/cni/net.d/10-replica-api.conflist' <<EOF
{"cniVersion": "0.4.0", "name": "replica-api", "plugins": [
  {"type": "ptp", "mtu": 1500, "ipMasq": false,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "${cidr}"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
EOF
    while read -r other _ other_ip; do
      [[ "${other}" == "${node}" ]] || "${DOCKER}" exec "${node}" ip route replace "$(awk -v n="${other}" '$1 == n {print $2}' <<<"${nodes}")" via "${other_ip}"
    done <<<"${nodes}"
    log "${node}: pods in ${cidr} (node ${ip})"
  done <<<"${nodes}"
}

# dns_local_only: CoreDNS answers cluster names only (no forward to the node's resolver, so
# nothing queries beyond this machine; no loop plugin, which only guards that forward).
dns_local_only() {
  local corefile
  corefile="$(kctl -n kube-system get configmap coredns -o jsonpath='{.data.Corefile}')"
  grep -qE '^\s*(forward|loop)\b' <<<"${corefile}" || return 0
  corefile="$(awk '/^[[:space:]]*forward[[:space:]].*\{[[:space:]]*$/ { skip = 1; next }
    skip { if ($0 ~ /^[[:space:]]*\}[[:space:]]*$/) skip = 0; next }
    /^[[:space:]]*(forward|loop)([[:space:]]|$)/ { next } { print }' <<<"${corefile}")"
  kctl -n kube-system create configmap coredns --from-literal=Corefile="${corefile}" --dry-run=client -o yaml |
    kctl replace -f - >/dev/null
  kctl -n kube-system rollout restart deployment/coredns >/dev/null
  log "CoreDNS: forward and loop removed (cluster names only)"
}

network_policy() {
  local image
  image="$("${DOCKER}" image inspect --format '{{index .Config.Labels "dev.replica-api.kube-router-image"}}' "$1")"
  if [[ -z "${image}" ]]; then
    log "WARNING: no kube-router image in $1: NetworkPolicy is not enforced"
    return 0
  fi
  sed "s|KUBE_ROUTER_IMAGE|${image}|" "${REPO_ROOT}/kind/kube-router.yaml" | kctl apply -f - >/dev/null
  kctl -n kube-system rollout status daemonset/kube-router --timeout="${WAIT_TIMEOUT}"
}

# no_pulls: evidence that no Pod pulled (or tried to) an image.
no_pulls() {
  local pulls
  pulls="$(kctl get events -A --field-selector reason=Pulling -o name 2>/dev/null | wc -l)"
  ((pulls == 0)) || log "WARNING: ${pulls} image pull(s) were attempted: $(kctl get events -A --field-selector reason=Pulling --no-headers | head -n 3)"
}

main() {
  local image kubeconfig
  mkdir -p "${KIND_STATE_DIR}"
  "${KIND_SCRIPTS_DIR}/engine.sh" up
  "${KIND_SCRIPTS_DIR}/kind.sh" >/dev/null
  require_tools docker kind kubectl
  if cluster_running; then
    image="$(node_image)"
    log "cluster ${KIND_CLUSTER} already runs (on ${image}; after a version bump: make kind-down kind-up)"
  else
    image="$("${KIND_SCRIPTS_DIR}/node-image.sh")"
    create_cluster "${image}"
  fi
  pod_network
  kctl wait --for=condition=Ready nodes --all --timeout="${WAIT_TIMEOUT}" >/dev/null
  dns_local_only
  network_policy "${image}"
  kctl -n kube-system rollout status deployment/coredns --timeout="${WAIT_TIMEOUT}"
  no_pulls
  kubeconfig="${KUBECONFIG:-${HOME}/.kube/config}"
  kctl get nodes -o wide
  log "ready: kubectl --context ${KUBE_CONTEXT} (kubeconfig ${kubeconfig%%:*})"
  status_line "up: context ${KUBE_CONTEXT}, kubeconfig ${kubeconfig%%:*}"
}

main "$@"
