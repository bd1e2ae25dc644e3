#!/usr/bin/env bash
# Tests of tests/packaging/dockerfile_check.sh itself (run by `make chart-test`): the repository's
# Dockerfile passes, and copies of it with one thing broken fail with the rule that says what.
# Only the image's allocator (D11's LD_PRELOAD exception) so far: a rule that never fails is
# worse than none, and this one guards a preload that otherwise fails silently (ld.so warns and
# the service runs on glibc's malloc). Its last line is "dockerfile_check_test: N passed, M failed".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

work="$(mktemp -d "${TMPDIR:-/tmp}/dockerfile-check-test.XXXXXX")"
trap 'rm -rf "${work}"' EXIT
# The runtime stage starts at the last FROM.
last_from="$(grep -niE '^FROM[[:space:]]' Dockerfile | tail -n 1 | cut -d: -f1)"
passed=0 failed=0
log() { printf '%s\n' "dockerfile_check_test: $*" >&2; }

# mutate <build|runtime> <ERE> [replacement]: the Dockerfile with the matching part of that
# stage's lines replaced, or those lines deleted when no replacement is given.
mutate() {
  awk -v stage="$1" -v re="$2" -v rep="${3-}" -v del="$(($# < 3))" -v last="${last_from}" '
    { st = (NR >= last) ? "runtime" : "build" }
    st == stage && $0 ~ re { if (del) next; sub(re, rep) }
    { print }' Dockerfile >"${work}/Dockerfile"
}

# rejects <case> <expected message part> <mutate args...>: the mutated Dockerfile fails the check with that message.
rejects() {
  local name="$1" want="$2"
  shift 2
  mutate "$@"
  if cmp -s Dockerfile "${work}/Dockerfile"; then
    log "FAIL: ${name}: the mutation ($*) matched nothing in the Dockerfile: update this test"
    failed=$((failed + 1))
    return
  fi
  if DOCKERFILE="${work}/Dockerfile" tests/packaging/dockerfile_check.sh >"${work}/out" 2>&1; then
    log "FAIL: ${name}: dockerfile_check.sh accepted it"
    failed=$((failed + 1))
  elif ! grep -qF -- "${want}" "${work}/out"; then
    log "FAIL: ${name}: expected a problem containing '${want}', got: $(grep -v ' problem(s) in ' "${work}/out" | tr '\n' ' ')"
    failed=$((failed + 1))
  else
    log "ok: ${name}: $(grep -F -- "${want}" "${work}/out" | head -n 1)"
    passed=$((passed + 1))
  fi
}

if tests/packaging/dockerfile_check.sh >"${work}/out" 2>&1; then
  log "ok: the repository's Dockerfile passes"
  passed=$((passed + 1))
else
  log "FAIL: the repository's Dockerfile does not pass: $(tr '\n' ' ' <"${work}/out")"
  failed=$((failed + 1))
fi

rejects "runtime stage without LD_PRELOAD" "D11 deno.json's start task preloads jemalloc" \
  runtime '^[[:space:]]*LD_PRELOAD=.*$'
rejects "LD_PRELOAD a relative path" "must preload jemalloc from an absolute path ending in libjemalloc.so.2" \
  runtime 'LD_PRELOAD=[^[:space:]]*' 'LD_PRELOAD=libjemalloc.so.2'
rejects "LD_PRELOAD another allocator" "must preload jemalloc from an absolute path ending in libjemalloc.so.2" \
  runtime 'LD_PRELOAD=[^[:space:]]*' 'LD_PRELOAD=/usr/local/lib/libtcmalloc_minimal.so.4'
rejects "LD_PRELOAD where no COPY puts the library" "no COPY of the runtime stage puts libjemalloc.so.2 there" \
  runtime 'LD_PRELOAD=[^[:space:]]*' 'LD_PRELOAD=/usr/lib/libjemalloc.so.2'
rejects "runtime stage without the COPY of the library" "no COPY of the runtime stage puts libjemalloc.so.2 there" \
  runtime '^COPY .*libjemalloc\.so\.2.*$'
rejects "build stage without LD_PRELOAD" "the build stage's ENV LD_PRELOAD is not set" \
  build '^[[:space:]]*LD_PRELOAD=.*$'
rejects "MALLOC_CONF other than the start task's" "but deno.json's start task sets MALLOC_CONF=" \
  runtime 'MALLOC_CONF=[^[:space:]]*' 'MALLOC_CONF=narenas:8'

echo "dockerfile_check_test: ${passed} passed, ${failed} failed"
((failed == 0))
