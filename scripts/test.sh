#!/usr/bin/env bash
# shellcheck disable=SC2317  # on_exit and the functions it calls run from the EXIT trap
# `make test`: every suite, one stage after another (each a make target), then a table of the stages: name,
# seconds, result. The table is printed whatever happens: a failed stage ends the run as make would (the stages
# after it are listed as "not run"), and so does an interrupt.
#
# The KIND path's artifacts (`make kind-prepare`: kind, the node image, the images; on a cold machine Go builds
# and debootstraps, most of the KIND suite's time) are built in the background once the first stage (static) is
# done, at the lowest CPU and I/O priority (nice 19, ionice idle), so they get the CPU the suites in the
# foreground leave idle (downloads, waits, one-core phases) and take little from them. test-kind waits for it, then runs as before and finds all of
# it cached; if it failed, test-kind builds what is missing itself. TEST_KIND_PREPARE=0 turns the background
# build off. Its output: <cache>/logs/kind-prepare.log, copied into this output when it ends.
set -uo pipefail
cd "$(dirname "$0")/.." || exit
MAKE="${MAKE:-make}"
STAGES=(static test-unit chart-test test-integration test-browser contract-test test-kind)
LOG_DIR="${REPLICA_API_CACHE:-${PWD}/.cache}/logs"
PREP_LOG="${LOG_DIR}/kind-prepare.log"
PREP_STATE="${LOG_DIR}/kind-prepare.state"

say() { printf 'make test: %s\n' "$*" >&2; }

names=() secs=() results=() notes=()
record() { names+=("$1") secs+=("$2") results+=("$3") notes+=("${4:-}"); }

run_start=$(date +%s)
status=0
prep_pid=""
prep_row_done=0
record_stopped=0

# start_prepare: make kind-prepare in the background, in its own process group (set -m), so it can be stopped
# whole. It writes "<exit> <start epoch> <end epoch>" to PREP_STATE when it ends.
start_prepare() {
  local lowprio=(nice -n 19)
  # Best effort, lowest level: the idle class starved its debootstraps behind the foreground's go builds (4x slower).
  command -v ionice >/dev/null 2>&1 && ionice -c 2 -n 7 true 2>/dev/null && lowprio+=(ionice -c 2 -n 7)
  mkdir -p "${LOG_DIR}"
  rm -f "${PREP_STATE}"
  set -m
  (
    t0=$(date +%s)
    "${lowprio[@]}" "${MAKE}" --no-print-directory kind-prepare >"${PREP_LOG}" 2>&1 </dev/null
    echo "$? ${t0} $(date +%s)" >"${PREP_STATE}"
  ) &
  prep_pid=$!
  set +m
  say "building the KIND path's artifacts in the background at low priority (make kind-prepare, log: ${PREP_LOG})"
}

stop_prepare() {
  [[ -n "${prep_pid}" ]] || return 0
  if kill -0 "${prep_pid}" 2>/dev/null; then
    say "stopping the background make kind-prepare (pid ${prep_pid})"
    kill -TERM -- "-${prep_pid}" 2>/dev/null || true
  fi
  wait "${prep_pid}" 2>/dev/null || true
  prep_pid=""
}

# finish_prepare: waits for the background build and records its row.
finish_prepare() {
  local waited_from rc t0 t1 result note
  waited_from=$(date +%s)
  if [[ -n "${prep_pid}" ]]; then
    if kill -0 "${prep_pid}" 2>/dev/null; then
      # Nothing runs in the foreground now: at nice 19 it would only lose to whatever else runs on the machine.
      say "test-kind: waiting for the background make kind-prepare, now at normal priority"
      renice -n 0 -g "${prep_pid}" >/dev/null 2>&1 || true
    fi
    wait "${prep_pid}" 2>/dev/null
    prep_pid=""
  fi
  WAITED=$(($(date +%s) - waited_from))
  read -r rc t0 t1 <"${PREP_STATE}" 2>/dev/null || { rc=1 t0=${run_start} t1=$(date +%s); }
  sed 's/^/kind-prepare| /' "${PREP_LOG}" >&2 2>/dev/null || true
  if [[ "${rc}" == 0 ]] && grep -q '^SKIP: ' "${PREP_LOG}" 2>/dev/null; then
    result=skipped
  elif [[ "${rc}" == 0 ]]; then
    result=ok
  else
    result="failed (exit ${rc})"
    note="test-kind builds what is missing itself"
  fi
  record "kind-prepare (background)" "$((t1 - t0))" "${result}" "${note:-from $((t0 - run_start)) s to $((t1 - run_start)) s, beside the stages above}"
  prep_row_done=1
}

print_table() {
  local i total
  total=$(($(date +%s) - run_start))
  {
    echo
    echo "make test: stage times"
    printf '  %-27s %7s  %-16s %s\n' stage seconds result ""
    for i in "${!names[@]}"; do
      printf '  %-27s %7s  %-16s %s\n' "${names[i]}" "${secs[i]}" "${results[i]}" "${notes[i]}"
    done
    printf '  %-27s %7s  %s\n' "total (wall clock)" "${total}" "$([[ "${status}" == 0 ]] && echo ok || echo "failed (exit ${status})")"
  } | sed 's/ *$//' >&2
}

current=""
current_start=0
on_exit() {
  # Stop the background build even when our output has gone (a closed pipe would otherwise end us first).
  trap '' PIPE
  if [[ -n "${prep_pid}" ]] && ((prep_row_done == 0)); then
    stop_prepare
    record_stopped=1
  fi
  if [[ -n "${current}" ]]; then
    record "${current}" "$(($(date +%s) - current_start))" interrupted
    current=""
  fi
  local stage
  for stage in "${STAGES[@]}"; do
    [[ " ${names[*]} " == *" ${stage} "* ]] || record "${stage}" - "not run"
  done
  if ((record_stopped)); then
    record "kind-prepare (background)" - stopped "$([[ "${status}" == 0 ]] || echo "the run ended first")"
  fi
  print_table
}
trap on_exit EXIT
trap 'status=130; exit 130' INT
trap 'status=143; exit 143' TERM

for stage in "${STAGES[@]}"; do
  if [[ "${status}" != 0 ]]; then
    record "${stage}" - "not run"
    continue
  fi
  note=""
  if [[ "${stage}" == test-kind && -n "${prep_pid}" ]]; then
    current_start=$(date +%s)
    current=test-kind
    finish_prepare
    note="waited ${WAITED} s for kind-prepare"
  else
    current_start=$(date +%s)
    current="${stage}"
  fi
  "${MAKE}" --no-print-directory "${stage}"
  rc=$?
  current=""
  if [[ "${rc}" == 0 ]]; then
    record "${stage}" "$(($(date +%s) - current_start))" ok "${note}"
  else
    record "${stage}" "$(($(date +%s) - current_start))" "FAILED (exit ${rc})" "${note}"
    status=${rc}
  fi
  # After static, which installs Deno and the npm packages the background build also uses (two installs of
  # Deno into .tools at once fail: "Text file busy").
  if [[ "${stage}" == static && "${status}" == 0 && "${TEST_KIND_PREPARE:-1}" != 0 ]]; then
    start_prepare
  fi
done
exit "${status}"
