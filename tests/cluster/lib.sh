# shellcheck shell=bash source-path=SCRIPTDIR disable=SC2034  # settings used by the scripts that source this
# Shared settings for tests/cluster/*.sh. Source it; it does not run anything.
#
# Environment (all optional):
#   REPLICA_API_CACHE      cache root (default <repo>/.cache, git-ignored)
#   KUBERNETES_VERSION, ETCD_VERSION, HELM_VERSION   see versions.env
#   GO                     go command (default: go on PATH, else /usr/local/go/bin/go)
#   CLUSTER_ETCD_PORT      etcd client port      (default 23790)
#   CLUSTER_ETCD_PEER_PORT etcd peer port        (default 23800)
#   CLUSTER_APISERVER_PORT kube-apiserver port   (default 26443)
#   CLUSTER_KCM_PORT       kube-controller-manager secure port (default 26257)
#   CLUSTER_READY_TIMEOUT  seconds to wait for readiness (default 90)
#   WITH_CONTROLLER_MANAGER=0  do not start kube-controller-manager (default 1: start it)
#   CLUSTER_ETCD_EXTRA_ARGS, CLUSTER_APISERVER_EXTRA_ARGS, CLUSTER_KCM_EXTRA_ARGS
#                          extra flags (whitespace-separated) for a component's next fresh start

CLUSTER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${CLUSTER_DIR}/../.." && pwd)"
# shellcheck source=versions.env
source "${CLUSTER_DIR}/versions.env"

CACHE_ROOT="${REPLICA_API_CACHE:-${REPO_ROOT}/.cache}"
BIN_ROOT="${CACHE_ROOT}/bin"
STATE_DIR="${CACHE_ROOT}/cluster"

ETCD_BIN="${BIN_ROOT}/etcd-${ETCD_VERSION}/etcd"
APISERVER_BIN="${BIN_ROOT}/kube-apiserver-${KUBERNETES_VERSION}/kube-apiserver"
KCM_BIN="${BIN_ROOT}/kube-controller-manager-${KUBERNETES_VERSION}/kube-controller-manager"
HELM_BIN="${BIN_ROOT}/helm-${HELM_VERSION}/helm"

ETCD_PORT="${CLUSTER_ETCD_PORT:-23790}"
ETCD_PEER_PORT="${CLUSTER_ETCD_PEER_PORT:-23800}"
APISERVER_PORT="${CLUSTER_APISERVER_PORT:-26443}"
KCM_PORT="${CLUSTER_KCM_PORT:-26257}"
READY_TIMEOUT="${CLUSTER_READY_TIMEOUT:-90}"
WITH_CONTROLLER_MANAGER="${WITH_CONTROLLER_MANAGER:-1}"

ETCD_URL="http://127.0.0.1:${ETCD_PORT}"
APISERVER_URL="https://127.0.0.1:${APISERVER_PORT}"

PKI_DIR="${STATE_DIR}/pki"
LOG_DIR="${STATE_DIR}/logs"
RUN_DIR="${STATE_DIR}/run"
ETCD_DATA_DIR="${STATE_DIR}/etcd-data"
KUBECONFIG_PATH="${STATE_DIR}/admin.kubeconfig"
CLUSTER_ENV="${STATE_DIR}/cluster.env"

log() { printf '%s\n' "cluster: $*" >&2; }
die() { printf '%s\n' "cluster: ERROR: $*" >&2; exit 1; }

# find_go sets GO to a usable go command or fails with one line.
find_go() {
  if [[ -z "${GO:-}" ]]; then
    GO="$(command -v go || true)"
    if [[ -z "${GO}" && -x /usr/local/go/bin/go ]]; then GO=/usr/local/go/bin/go; fi
  fi
  [[ -n "${GO}" ]] || die "go not found on PATH (nor /usr/local/go/bin/go): install Go >= 1.26 or set GO=/path/to/go"
  "${GO}" version >/dev/null 2>&1 || die "'${GO} version' failed: the Go toolchain at ${GO} is not usable"
}

# ---------------------------------------------------------------- processes
# Pid files hold two lines: the pid and the binary path it was started from.

pid_file() { printf '%s' "${RUN_DIR}/$1.pid"; }

# proc_alive <pid>: the process exists and is not a zombie waiting to be reaped.
proc_alive() {
  local stat
  kill -0 "$1" 2>/dev/null || return 1
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [[ "${stat:0:1}" != Z ]]
}

# pid_of <component>: prints the pid if the process from its pid file is alive and its
# command line still starts with the recorded binary (guards against pid reuse).
pid_of() {
  local pidfile pid bin argv0
  pidfile="$(pid_file "$1")"
  [[ -s "${pidfile}" ]] || return 1
  { read -r pid && read -r bin; } <"${pidfile}" || return 1
  [[ "${pid}" =~ ^[0-9]+$ && -n "${bin}" ]] || return 1
  proc_alive "${pid}" || return 1
  argv0="$(tr '\0' '\n' <"/proc/${pid}/cmdline" 2>/dev/null | head -n 1)" || return 1
  [[ "${argv0}" == "${bin}" ]] || return 1
  printf '%s' "${pid}"
}

# port_in_use <port>: true if something listens on TCP <port>.
port_in_use() {
  local port="$1" out
  if command -v ss >/dev/null 2>&1; then
    out="$(ss -Hltn "sport = :${port}" 2>/dev/null || true)"
    [[ -n "${out}" ]]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null
  fi
}

# start_process <component> <binary> <args...>: starts it detached (own session, stdin
# closed, output appended to ${LOG_DIR}/<component>.log), records the pid file and the
# exact arguments in ${RUN_DIR}/<component>.args (one per line).
start_process() {
  local name="$1" bin="$2" pid logf i
  shift 2
  mkdir -p "${RUN_DIR}" "${LOG_DIR}"
  logf="${LOG_DIR}/${name}.log"
  printf '%s\n' "$@" >"${RUN_DIR}/${name}.args"
  printf '===== %s starting %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${name}" >>"${logf}"
  # setsid (not a process-group leader here, so it execs without forking): the process
  # outlives this script and the terminal; $! is the server's own pid.
  # fds 8 and 9 are this script's locks: the server must not inherit (and hold) them.
  setsid "${bin}" "$@" </dev/null >>"${logf}" 2>&1 8>&- 9>&- &
  pid=$!
  printf '%s\n%s\n' "${pid}" "${bin}" >"$(pid_file "${name}")"
  for ((i = 0; i < 20; i++)); do
    sleep 0.1
    proc_alive "${pid}" || fail_with_log "${name}" "${name} exited right after start"
    pid_of "${name}" >/dev/null && return 0
  done
  fail_with_log "${name}" "pid ${pid} is not running ${bin} (did setsid fork?)"
}

# stop_process <component> [timeout-seconds]: SIGTERM, wait, then SIGKILL. Only touches
# the process recorded in the pid file when it is still the same binary.
stop_process() {
  local name="$1" timeout="${2:-30}" pid i
  if pid="$(pid_of "${name}")"; then
    log "stopping ${name} (pid ${pid})"
    kill -TERM "${pid}" 2>/dev/null || true
    for ((i = 0; i < timeout * 10; i++)); do
      proc_alive "${pid}" || break
      sleep 0.1
    done
    if proc_alive "${pid}"; then
      log "${name} (pid ${pid}) did not exit within ${timeout}s; sending SIGKILL"
      kill -KILL "${pid}" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do
        proc_alive "${pid}" || break
        sleep 0.1
      done
      ! proc_alive "${pid}" || die "${name} (pid ${pid}) survived SIGKILL"
    fi
  fi
  rm -f "$(pid_file "${name}")"
}

# fail_with_log <component> <message>: prints the tail of the component's log and exits 1.
fail_with_log() {
  local logf="${LOG_DIR}/$1.log"
  if [[ -f "${logf}" ]]; then
    printf '%s\n' "----- last 30 lines of ${logf} -----" >&2
    tail -n 30 "${logf}" >&2 || true
    printf '%s\n' "-----" >&2
  fi
  die "$2 (log: ${logf})"
}

# wait_until <component> <timeout-seconds> <command...>: polls the command every 0.25s
# until it succeeds; fails (with the log tail) on timeout or when the process dies.
wait_until() {
  local name="$1" timeout="$2" deadline
  shift 2
  deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    pid_of "${name}" >/dev/null || fail_with_log "${name}" "${name} exited while starting"
    ((SECONDS < deadline)) || fail_with_log "${name}" "${name} not ready after ${timeout}s (CLUSTER_READY_TIMEOUT)"
    sleep 0.25
  done
}

# ---------------------------------------------------------------- health probes
etcd_healthy() {
  local body
  body="$(curl -fsS --max-time 2 "${ETCD_URL}/health")" || return 1
  [[ "${body}" == *'"health":"true"'* ]]
}

# apiserver_get <path>: GET with the admin client certificate, TLS verified against our CA.
apiserver_get() {
  curl -fsS --max-time 5 --cacert "${PKI_DIR}/ca.crt" --cert "${PKI_DIR}/admin.crt" \
    --key "${PKI_DIR}/admin.key" "${APISERVER_URL}$1"
}

apiserver_ready() { [[ "$(apiserver_get /readyz)" == "ok" ]]; }

kcm_healthy() {
  [[ "$(curl -fsS --max-time 2 --cacert "${PKI_DIR}/ca.crt" "https://127.0.0.1:${KCM_PORT}/healthz")" == "ok" ]]
}

# lock_state: one up/down/ctl at a time per state directory (bounded wait, fd 8).
lock_state() {
  command -v flock >/dev/null 2>&1 || return 0
  mkdir -p "${STATE_DIR}"
  exec 8>"${STATE_DIR}/.lock"
  flock -w 120 8 || die "another tests/cluster script has held ${STATE_DIR}/.lock for 120s; giving up"
}

# ---------------------------------------------------------------- PKI
# ensure_pki: CA, kube-apiserver serving cert, admin client cert (CN=admin, O=system:masters),
# kube-controller-manager client cert and the RSA service-account key pair, made with openssl.
# Kept across restarts so existing kubeconfigs and tokens stay valid; removed by down.sh.
ensure_pki() {
  command -v openssl >/dev/null 2>&1 || die "openssl not found: it is needed to create the cluster certificates"
  if [[ -s "${PKI_DIR}/ca.crt" && -s "${PKI_DIR}/admin.key" && -s "${PKI_DIR}/sa.pub" && -s "${PKI_DIR}/kcm.crt" ]]; then
    return 0
  fi
  log "creating certificates in ${PKI_DIR}"
  rm -rf "${PKI_DIR}"
  mkdir -p "${PKI_DIR}"
  chmod 0700 "${PKI_DIR}"
  (
    cd "${PKI_DIR}"
    umask 077
    ec_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
    # sign <name> <subject> <extensions>
    sign() {
      ec_key "$1.key"
      openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
      printf '%s\n' "$3" >"$1.ext"
      openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -set_serial "0x$(openssl rand -hex 16)" \
        -days 3650 -sha256 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
      rm -f "$1.csr" "$1.ext"
    }
    ec_key ca.key
    openssl req -x509 -new -key ca.key -subj "/CN=replica-api-local-ca" -days 3650 -sha256 \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -out ca.crt
    sign apiserver "/CN=kube-apiserver" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
    sign admin "/O=system:masters/CN=admin" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
    # The local controller manager runs every controller under one identity; system:masters
    # keeps that simple (a test control plane, not a hardened one).
    sign kcm "/O=system:masters/CN=system:kube-controller-manager" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key 2>/dev/null
    openssl pkey -in sa.key -pubout -out sa.pub
    chmod 0644 ca.crt
  ) || die "creating the cluster certificates with openssl failed"
}

# write_kubeconfig <path> <user> <cert> <key>: kubeconfig embedding the CA and client cert.
write_kubeconfig() {
  local tmp="$1.tmp"
  (
    umask 077
    cat >"${tmp}" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: replica-api-local
  cluster:
    server: ${APISERVER_URL}
    certificate-authority-data: $(base64 -w0 <"${PKI_DIR}/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $(base64 -w0 <"$3")
    client-key-data: $(base64 -w0 <"$4")
contexts:
- name: replica-api-local
  context:
    cluster: replica-api-local
    user: $2
current-context: replica-api-local
KUBECONFIG
  )
  mv -f "${tmp}" "$1"
}

# ---------------------------------------------------------------- components
# component_args <component>: sets the ARGS array to the flags the component starts with.
component_args() {
  local extra=()
  case "$1" in
    etcd)
      ARGS=(
        --name=replica-api-local
        --data-dir="${ETCD_DATA_DIR}"
        --listen-client-urls="${ETCD_URL}"
        --advertise-client-urls="${ETCD_URL}"
        --listen-peer-urls="http://127.0.0.1:${ETCD_PEER_PORT}"
        --initial-advertise-peer-urls="http://127.0.0.1:${ETCD_PEER_PORT}"
        --initial-cluster="replica-api-local=http://127.0.0.1:${ETCD_PEER_PORT}"
        --unsafe-no-fsync=true
        --log-level=warn
      )
      read -r -a extra <<<"${CLUSTER_ETCD_EXTRA_ARGS:-}"
      ;;
    kube-apiserver)
      ARGS=(
        --etcd-servers="${ETCD_URL}"
        --secure-port="${APISERVER_PORT}"
        --bind-address=127.0.0.1
        --advertise-address=127.0.0.1
        --endpoint-reconciler-type=none
        --cert-dir="${STATE_DIR}/apiserver-certs"
        --tls-cert-file="${PKI_DIR}/apiserver.crt"
        --tls-private-key-file="${PKI_DIR}/apiserver.key"
        --client-ca-file="${PKI_DIR}/ca.crt"
        --authorization-mode=RBAC
        --service-cluster-ip-range=10.0.0.0/24
        --service-account-issuer="${APISERVER_URL}"
        --service-account-key-file="${PKI_DIR}/sa.pub"
        --service-account-signing-key-file="${PKI_DIR}/sa.key"
        --disable-admission-plugins=ServiceAccount
        --allow-privileged=true
        --profiling=false
        --audit-policy-file="${CLUSTER_DIR}/audit-policy.yaml"
        --audit-log-path="${LOG_DIR}/audit.log"
        --audit-log-format=json
        --audit-log-maxsize=100
        --audit-log-maxbackup=1
        # Without it, SIGTERM waits the full 60s shutdown timeout whenever a client (the
        # controller manager, an informer) holds a watch open; with it, about 3s.
        --shutdown-watch-termination-grace-period=2s
      )
      read -r -a extra <<<"${CLUSTER_APISERVER_EXTRA_ARGS:-}"
      ;;
    kube-controller-manager)
      ARGS=(
        --kubeconfig="${STATE_DIR}/kcm.kubeconfig"
        --authentication-kubeconfig="${STATE_DIR}/kcm.kubeconfig"
        --authorization-kubeconfig="${STATE_DIR}/kcm.kubeconfig"
        --authentication-skip-lookup=true
        --bind-address=127.0.0.1
        --secure-port="${KCM_PORT}"
        --tls-cert-file="${PKI_DIR}/apiserver.crt"
        --tls-private-key-file="${PKI_DIR}/apiserver.key"
        --leader-elect=false
        --use-service-account-credentials=false
        --service-account-private-key-file="${PKI_DIR}/sa.key"
        --root-ca-file="${PKI_DIR}/ca.crt"
        --cluster-signing-cert-file="${PKI_DIR}/ca.crt"
        --cluster-signing-key-file="${PKI_DIR}/ca.key"
        --profiling=false
      )
      read -r -a extra <<<"${CLUSTER_KCM_EXTRA_ARGS:-}"
      ;;
    *) die "unknown component '$1' (expected etcd, kube-apiserver or kube-controller-manager)" ;;
  esac
  ARGS+=("${extra[@]}")
}

component_bin() {
  case "$1" in
    etcd) printf '%s' "${ETCD_BIN}" ;;
    kube-apiserver) printf '%s' "${APISERVER_BIN}" ;;
    kube-controller-manager) printf '%s' "${KCM_BIN}" ;;
    *) die "unknown component '$1'" ;;
  esac
}

component_port() {
  case "$1" in
    etcd) printf '%s %s' "${ETCD_PORT}" "${ETCD_PEER_PORT}" ;;
    kube-apiserver) printf '%s' "${APISERVER_PORT}" ;;
    kube-controller-manager) printf '%s' "${KCM_PORT}" ;;
  esac
}

port_var() {
  case "$1" in
    "${ETCD_PORT}") printf 'CLUSTER_ETCD_PORT' ;;
    "${ETCD_PEER_PORT}") printf 'CLUSTER_ETCD_PEER_PORT' ;;
    "${APISERVER_PORT}") printf 'CLUSTER_APISERVER_PORT' ;;
    "${KCM_PORT}") printf 'CLUSTER_KCM_PORT' ;;
  esac
}

# start_component <component> [reuse]: starts it unless already running, then waits until
# it is healthy. With "reuse", the flags recorded at its last start are used again.
start_component() {
  local name="$1" reuse="${2:-}" bin pid port args_file start=${SECONDS}
  bin="$(component_bin "${name}")"
  if pid="$(pid_of "${name}")"; then
    log "${name} already running (pid ${pid})"
  else
    [[ -x "${bin}" ]] || die "${bin} is missing: run tests/cluster/build.sh"
    for port in $(component_port "${name}"); do
      if port_in_use "${port}"; then
        die "port ${port} for ${name} is already in use by another process; free it or set $(port_var "${port}")"
      fi
    done
    args_file="${RUN_DIR}/${name}.args"
    if [[ "${reuse}" == reuse && -s "${args_file}" ]]; then
      mapfile -t ARGS <"${args_file}"
    else
      component_args "${name}"
    fi
    start_process "${name}" "${bin}" "${ARGS[@]}"
  fi
  case "${name}" in
    etcd) wait_until etcd "${READY_TIMEOUT}" etcd_healthy ;;
    kube-apiserver) wait_until kube-apiserver "${READY_TIMEOUT}" apiserver_ready ;;
    kube-controller-manager) wait_until kube-controller-manager "${READY_TIMEOUT}" kcm_healthy ;;
  esac
  log "${name} ready ($((SECONDS - start))s)"
}

# write_cluster_env: ${STATE_DIR}/cluster.env, KEY=VALUE lines (bash-sourceable) for tests.
write_cluster_env() {
  {
    printf '# Written by tests/cluster/up.sh. Local control plane of %s.\n' "${REPO_ROOT}"
    printf 'KUBECONFIG=%q\n' "${KUBECONFIG_PATH}"
    printf 'CLUSTER_APISERVER_URL=%q\n' "${APISERVER_URL}"
    printf 'CLUSTER_CA_FILE=%q\n' "${PKI_DIR}/ca.crt"
    printf 'CLUSTER_ADMIN_CERT_FILE=%q\n' "${PKI_DIR}/admin.crt"
    printf 'CLUSTER_ADMIN_KEY_FILE=%q\n' "${PKI_DIR}/admin.key"
    printf 'CLUSTER_SERVICE_ACCOUNT_ISSUER=%q\n' "${APISERVER_URL}"
    printf 'CLUSTER_ETCD_ENDPOINT=%q\n' "${ETCD_URL}"
    printf 'CLUSTER_ETCD_PID_FILE=%q\n' "$(pid_file etcd)"
    printf 'CLUSTER_APISERVER_PID_FILE=%q\n' "$(pid_file kube-apiserver)"
    printf 'CLUSTER_KCM_PID_FILE=%q\n' "$(pid_file kube-controller-manager)"
    printf 'CLUSTER_WITH_CONTROLLER_MANAGER=%q\n' "${WITH_CONTROLLER_MANAGER}"
    printf 'CLUSTER_LOG_DIR=%q\n' "${LOG_DIR}"
    printf 'CLUSTER_AUDIT_LOG=%q\n' "${LOG_DIR}/audit.log"
    printf 'CLUSTER_KUBERNETES_VERSION=%q\n' "${KUBERNETES_VERSION}"
    printf 'CLUSTER_ETCD_VERSION=%q\n' "${ETCD_VERSION}"
    printf 'CLUSTER_HELM=%q\n' "${HELM_BIN}"
    printf 'CLUSTER_CTL=%q\n' "${CLUSTER_DIR}/ctl.sh"
  } >"${CLUSTER_ENV}.tmp"
  mv -f "${CLUSTER_ENV}.tmp" "${CLUSTER_ENV}"
}
