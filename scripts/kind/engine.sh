#!/usr/bin/env bash
# The container engine of the KIND workflow. Usage: scripts/kind/engine.sh up|down|status|env
#
#   up      Uses a Docker that answers on its socket. Otherwise, as root on Debian: installs the
#           missing Debian packages (docker.io, containerd, runc, iptables, ...; one apt-get
#           update first) and starts dockerd on the default socket with its data-root in the
#           artifact cache (images survive across clones and runs) and its exec-root under
#           /run/replica-api. When a privileged container cannot start (this VM's quirk: no
#           CAP_SYS_RESOURCE in the bounding set), dockerd is restarted with runc-quirks.sh as its
#           default runtime; never otherwise. Then, as root: records the sysctls that Docker and
#           kubelet change (once per boot) and DROPs forwarded traffic to the uplink interface(s),
#           so that containers never reach beyond this machine.
#   down    Does nothing while containers still run on the engine (another cluster uses it).
#           Otherwise stops dockerd if this clone started it (by its pid), removes the DROP
#           rules and restores the recorded sysctls (the network ones only once no dockerd runs).
#   status  One line: how the engine runs, or why not. Exit 0 when it answers.
#   env     Shell assignments for the engine's settings (eval "$(scripts/kind/engine.sh env)").
#
# Idempotent, and robust to a killed previous run: a stale pid file, or a dockerd/containerd still
# holding the shared data-root without answering, is found by its command line and stopped.
# ENGINE_STATUS_FILE, when set, gets the one-line status whenever the state changes.
set -euo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
LOG_PREFIX=engine

DOCKER_SOCKET=/var/run/docker.sock
DATA_ROOT="${ARTIFACTS_DIR}/docker"
RUN_ROOT=/run/replica-api
EXEC_ROOT="${RUN_ROOT}/docker"
PID_FILE="${ENGINE_STATE_DIR}/dockerd.pid"
DOCKERD_LOG="${ENGINE_STATE_DIR}/dockerd.log"
SYSCTL_SNAPSHOT="${RUN_ROOT}/sysctl.before"
RULE_COMMENT=replica-api-isolation
PROBE_IMAGE=replica-api/engine-probe:1
# Set by Docker (forwarding, bridge netfilter) or by kubelet in a privileged node container
# (kernel.*, vm.*: not namespaced, so they change the host's).
NETWORK_SYSCTLS=(net.ipv4.ip_forward net.ipv6.conf.all.forwarding net.ipv6.conf.default.forwarding
  net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables net.netfilter.nf_conntrack_max)
KUBELET_SYSCTLS=(kernel.panic kernel.panic_on_oops vm.overcommit_memory kernel.keys.root_maxkeys
  kernel.keys.root_maxbytes fs.inotify.max_user_watches fs.inotify.max_user_instances)
# command -> Debian package, installed when the command is missing.
DEBIAN_PACKAGES=(dockerd:docker.io containerd:containerd runc:runc iptables:iptables ip6tables:iptables
  jq:jq debootstrap:debootstrap ipset:ipset)
export PATH="${PATH}:/usr/sbin:/sbin"

status_line() {
  [[ -z "${ENGINE_STATUS_FILE:-}" ]] || printf '%s\n' "$*" >"${ENGINE_STATUS_FILE}"
  log "$*"
}

engine_answers() { timeout 10 "${DOCKER}" info >/dev/null 2>&1; }

# our_pid: the pid of the dockerd this clone started, when it still runs.
our_pid() {
  local pid
  pid="$(cat "${PID_FILE}" 2>/dev/null)" || return 1
  [[ "${pid}" =~ ^[0-9]+$ ]] && tr '\0' ' ' 2>/dev/null <"/proc/${pid}/cmdline" | grep -qF -- "--data-root ${DATA_ROOT} " || return 1
  printf '%s' "${pid}"
}

# stale_pids: dockerd or containerd processes that use this engine's data-root or exec-root.
stale_pids() {
  local f pid
  for f in /proc/[0-9]*/cmdline; do
    pid="${f#/proc/}" pid="${pid%/cmdline}"
    tr '\0' ' ' 2>/dev/null <"${f}" | grep -qE "^[^ ]*(dockerd|containerd) .*(${DATA_ROOT}|${EXEC_ROOT})( |/)" && printf '%s\n' "${pid}"
  done
  return 0
}

# stop_pids <pid>...: SIGTERM, up to 30 s, then SIGKILL.
stop_pids() {
  local pid i alive
  (($# > 0)) || return 0
  kill -TERM "$@" 2>/dev/null || true
  for ((i = 0; i < 60; i++)); do
    alive=0
    for pid in "$@"; do kill -0 "${pid}" 2>/dev/null && alive=1; done
    ((alive)) || return 0
    sleep 0.5
  done
  log "still running after 30 s; SIGKILL $*"
  kill -KILL "$@" 2>/dev/null || true
}

is_root() { [[ "$(id -u)" == 0 ]]; }

# install_missing: the Debian packages of the commands that are missing (apt-get update once).
install_missing() {
  local entry pkgs=()
  for entry in "${DEBIAN_PACKAGES[@]}"; do
    command -v "${entry%%:*}" >/dev/null 2>&1 || pkgs+=("${entry#*:}")
  done
  ((${#pkgs[@]} > 0)) || return 0
  command -v apt-get >/dev/null 2>&1 || die "missing ${pkgs[*]} and no apt-get: install Docker (https://docs.docker.com/engine/install/)"
  is_root || die "missing ${pkgs[*]}: install them as root (apt-get install ${pkgs[*]}) or start Docker"
  log "installing Debian packages: ${pkgs[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
}

# write_daemon_config [runtime-path]: dockerd's config; with a path, that runtime is the default.
write_daemon_config() {
  local runtime="${1:-}"
  jq -n --arg rt "${runtime}" '{
      "storage-driver": "overlay2",
      "log-driver": "json-file", "log-opts": {"max-size": "10m", "max-file": "2"}
    } + (if $rt == "" then {} else {"runtimes": {"runc-quirks": {"path": $rt}}, "default-runtime": "runc-quirks"} end)' \
    >"${RUN_ROOT}/daemon.json"
}

# clear_stale_containerd_pid: dockerd trusts the containerd.pid in its exec-root. When that pid is gone, or is a
# zombie of a killed run (empty cmdline), dockerd waits for that containerd's socket and gives up after 15 s
# ("timeout waiting for containerd to start"), so a pid file naming no live containerd is removed first.
clear_stale_containerd_pid() {
  local file="${EXEC_ROOT}/containerd/containerd.pid" pid
  pid="$(cat "${file}" 2>/dev/null)" || return 0
  if ! tr '\0' ' ' 2>/dev/null <"/proc/${pid}/cmdline" | grep -q containerd; then
    log "removing ${file}: pid ${pid} is no running containerd (left by a killed run)"
    rm -f "${file}"
  fi
}

start_dockerd() {
  local i pid
  mkdir -p "${DATA_ROOT}" "${EXEC_ROOT}" "${ENGINE_STATE_DIR}"
  rm -f "${PID_FILE}"
  clear_stale_containerd_pid
  setsid dockerd --host "unix://${DOCKER_SOCKET}" --data-root "${DATA_ROOT}" --exec-root "${EXEC_ROOT}" \
    --pidfile "${PID_FILE}" --config-file "${RUN_ROOT}/daemon.json" </dev/null >>"${DOCKERD_LOG}" 2>&1 &
  pid=$!
  for ((i = 0; i < 120; i++)); do
    engine_answers && return 0
    kill -0 "${pid}" 2>/dev/null || die "dockerd exited: $(tail -n 5 "${DOCKERD_LOG}")"
    sleep 0.5
  done
  die "dockerd did not answer within 60 s (log: ${DOCKERD_LOG})"
}

stop_dockerd() {
  local pid
  pid="$(our_pid)" || return 0
  log "stopping dockerd (pid ${pid})"
  stop_pids "${pid}"
  rm -f "${PID_FILE}"
}

# probe_image: a tiny local image (the host's /bin/true and its libraries), so the probe needs
# no registry.
probe_image() {
  local files
  "${DOCKER}" image inspect "${PROBE_IMAGE}" >/dev/null 2>&1 && return 0
  mapfile -t files < <({ readlink -f /bin/true; ldd /bin/true | grep -o '/[^ ]*'; } | sed 's|^/||')
  tar -C / --dereference -c "${files[@]}" | "${DOCKER}" import --change 'ENTRYPOINT ["/usr/bin/true"]' - "${PROBE_IMAGE}" >/dev/null
}

privileged_works() {
  probe_image
  "${DOCKER}" run --rm --privileged --network none "${PROBE_IMAGE}" >/dev/null 2>&1
}

# use_runc_quirks: restart dockerd with the wrapper (copied next to the config: it must outlive
# this clone) as its default runtime, and check that privileged containers now start.
use_runc_quirks() {
  log "privileged containers fail here (CapBnd $(awk '/^CapBnd/ {print $2}' /proc/self/status)); restarting dockerd with runc-quirks.sh"
  install -m 0755 "${KIND_SCRIPTS_DIR}/runc-quirks.sh" "${RUN_ROOT}/runc-quirks"
  write_daemon_config "${RUN_ROOT}/runc-quirks"
  stop_dockerd
  start_dockerd
  privileged_works || die "privileged containers still fail with runc-quirks.sh; see ${DOCKERD_LOG}"
}

# snapshot_sysctls: the values before anything of ours changed them; once per boot (/run), so a
# killed run followed by a new one still restores the original values.
snapshot_sysctls() {
  local key
  [[ ! -s "${SYSCTL_SNAPSHOT}" ]] || return 0
  mkdir -p "${RUN_ROOT}"
  for key in "${NETWORK_SYSCTLS[@]}" "${KUBELET_SYSCTLS[@]}"; do
    sysctl -n "${key}" 2>/dev/null | sed "s|^|${key}=|" || true
  done >"${SYSCTL_SNAPSHOT}.tmp"
  mv "${SYSCTL_SNAPSHOT}.tmp" "${SYSCTL_SNAPSHOT}"
}

# restore_sysctls <key>...: writes back the recorded values that differ now.
restore_sysctls() {
  local key line want
  [[ -s "${SYSCTL_SNAPSHOT}" ]] || return 0
  for key in "$@"; do
    line="$(grep -m1 "^${key}=" "${SYSCTL_SNAPSHOT}")" || continue
    want="${line#*=}"
    [[ "$(sysctl -n "${key}" 2>/dev/null)" == "${want}" ]] && continue
    if sysctl -qw "${key}=${want}" >/dev/null 2>&1; then log "restored ${key}=${want}"; else log "could not restore ${key}=${want}"; fi
  done
}

uplinks() { { ip -4 route show default; ip -6 route show default; } 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "dev") print $(i + 1)}' | sort -u; }

# isolate: DROP forwarded traffic to every uplink (iptables DOCKER-USER, ip6tables FORWARD).
isolate() {
  local dev
  for dev in $(uplinks); do
    iptables -N DOCKER-USER 2>/dev/null || true
    iptables -C DOCKER-USER -o "${dev}" -m comment --comment "${RULE_COMMENT}" -j DROP 2>/dev/null ||
      iptables -I DOCKER-USER -o "${dev}" -m comment --comment "${RULE_COMMENT}" -j DROP
    ip6tables -C FORWARD -o "${dev}" -m comment --comment "${RULE_COMMENT}" -j DROP 2>/dev/null ||
      ip6tables -I FORWARD -o "${dev}" -m comment --comment "${RULE_COMMENT}" -j DROP 2>/dev/null || true
    log "containers cannot reach beyond this machine: forwarded traffic to ${dev} is dropped"
  done
}

# unisolate: removes every rule carrying our comment (also ones left by a killed run).
unisolate() {
  local cmd chain rule
  for cmd in iptables ip6tables; do
    for chain in DOCKER-USER FORWARD; do
      while rule="$("${cmd}" -S "${chain}" 2>/dev/null | grep -m1 -- "--comment ${RULE_COMMENT}")"; do
        # shellcheck disable=SC2086  # the rule's own words, as -S printed them
        "${cmd}" ${rule/-A/-D} || break
      done
    done
  done
}

describe() {
  local pid
  if pid="$(our_pid)"; then
    echo "up: dockerd pid ${pid} started by ${REPO_ROOT} (data-root ${DATA_ROOT}$(grep -q runc-quirks "${RUN_ROOT}/daemon.json" 2>/dev/null && echo ', runtime runc-quirks'))"
  elif engine_answers; then
    echo "up: Docker $("${DOCKER}" version --format '{{.Server.Version}}' 2>/dev/null) on $("${DOCKER}" context inspect --format '{{.Endpoints.docker.Host}}' 2>/dev/null || echo "${DOCKER_HOST:-its socket}") (not started by ${REPO_ROOT})"
  else
    echo "down: no Docker answers"
    return 1
  fi
}

cmd_up() {
  if engine_answers; then
    log "a Docker answers; using it"
  else
    is_root || die "no Docker answers and not root: start Docker ($(install_hint docker))"
    install_missing
    mapfile -t stale < <(stale_pids)
    if ((${#stale[@]} > 0)); then
      log "stopping a stale engine left by a killed run (pids ${stale[*]})"
      stop_pids "${stale[@]}"
    fi
    snapshot_sysctls
    mkdir -p "${RUN_ROOT}"
    if grep -q runc-quirks "${RUN_ROOT}/daemon.json" 2>/dev/null; then
      # Detected earlier in this boot (/run): start with the wrapper at once, so containers that
      # dockerd restarts on start-up (kind nodes after a killed engine) get it too.
      install -m 0755 "${KIND_SCRIPTS_DIR}/runc-quirks.sh" "${RUN_ROOT}/runc-quirks"
    else
      write_daemon_config
    fi
    start_dockerd
    privileged_works || use_runc_quirks
  fi
  if is_root; then
    snapshot_sysctls
    isolate
  else
    log "not root: forwarded traffic is not restricted"
  fi
  status_line "$(describe)"
}

running_containers() { "${DOCKER}" ps -q 2>/dev/null | wc -l; }

cmd_down() {
  local running=0
  engine_answers && running="$(running_containers)"
  # Another cluster (another clone's, or another name) may still use the engine: then it stays up,
  # and its containers stay isolated.
  if ((running > 0)); then
    log "${running} container(s) still run on the engine: it stays up, with its isolation rules and sysctls"
    status_line "$(describe)"
    return 0
  fi
  our_pid >/dev/null && stop_dockerd
  is_root || { status_line "$(describe || true)"; return 0; }
  if engine_answers; then
    unisolate
    restore_sysctls "${KUBELET_SYSCTLS[@]}"
  else
    unisolate
    restore_sysctls "${KUBELET_SYSCTLS[@]}" "${NETWORK_SYSCTLS[@]}"
    rm -f "${SYSCTL_SNAPSHOT}"
  fi
  status_line "$(describe || true)"
}

cmd_env() {
  printf 'REPLICA_API_ARTIFACTS=%q\nDOCKER_DATA_ROOT=%q\nKIND=%q\nKIND_VERSION=%q\n' \
    "${ARTIFACTS_DIR}" "${DATA_ROOT}" "${KIND}" "${KIND_VERSION}"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) describe ;;
  env) cmd_env ;;
  *) die "usage: $0 up|down|status|env" ;;
esac
