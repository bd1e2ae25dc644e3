#!/usr/bin/env bash
# Runs in a client Pod of the KIND suite (tests/kind/kind_test.ts, "consistent reads across replicas").
# WORKERS loops side by side, worker w on the Deployment NS/NAME-w, PAIRS pairs in all: a PUT of its replicas
# through the Service (API), then two GETs started together: one with
# ?resourceVersion=<the PUT's ETag>&resourceVersionMatch=NotOlderThan, one plain (the control).
# Every request opens a new connection (its own curl transfer; --parallel-immediate keeps curl from waiting
# for the first GET's connection), so kube-proxy spreads them over the replicas. Each carries the
# X-Request-Id <RUN>-<w>-<i>-put|get|plain, which the service's access log repeats: the test tells from the
# Pods' logs which replica answered. A PUT answered 409 (a conflict with the Deployment controller's status
# writes that outlasted the service's retries, as documented) is sent again, up to 5 times, as a client would.
# The test judges the pairs; this prints one line per pair:
#
#   pair <w>-<i> <replicas written> <PUT attempts> <PUT status> <PUT rv> <GET status> <GET rv> <GET replicas> <plain status> <plain rv> <plain replicas>
#
# Needs API, NS, NAME, PAIRS, WORKERS, RUN; the client certificate in /tls; a writable /tmp.
set -u
tls=(-sS --http1.1 --max-time 15 --cert /tls/tls.crt --key /tls/tls.key --cacert /tls/ca.crt)
work="$(mktemp -d)"

# The resourceVersion in an ETag ("N" or W/"N"), or "-".
rv() {
  local e="${1#W/}"
  e="${e//\"/}"
  e="${e//[[:space:]]/}"
  printf '%s' "${e:--}"
}
# The "replicas" of a replicas view (readyReplicas and availableReplicas are other keys), or "-".
replicas() {
  local r
  r="$(sed -n 's/.*"replicas":\([0-9]*\).*/\1/p' "$1" 2>/dev/null | head -n 1)"
  printf '%s' "${r:--}"
}

# worker <w>: its share of the pairs, on NAME-w.
worker() {
  local w="$1" i want put put_code put_rv attempts get_code get_rv plain_code plain_rv kind code etag
  local u="${API}/api/v1/namespaces/${NS}/deployments/${NAME}-${w}/replicas" dir="${work}/${w}"
  mkdir -p "${dir}"
  # The Deployment is new: wait until the replicas serve it.
  for ((i = 0; i < 60; i++)); do
    [[ "$(curl "${tls[@]}" -o /dev/null -w '%{http_code}' "${u}" 2>/dev/null)" == 200 ]] && break
    sleep 0.5
  done
  for ((i = 1; i <= PAIRS / WORKERS; i++)); do
    want=$((i % 2 + 1))
    for ((attempts = 1; attempts <= 5; attempts++)); do
      put="$(curl "${tls[@]}" -o /dev/null -w '%{http_code} %header{etag}' -X PUT -H 'Content-Type: application/json' \
        -H "X-Request-Id: ${RUN}-${w}-${i}-put${attempts}" -d "{\"replicas\":${want}}" "${u}" 2>/dev/null)"
      [[ "${put%% *}" == 409 ]] || break
    done
    put_code="${put%% *}" put_rv="$(rv "${put#* }")"
    [[ "${put_rv}" != - ]] || put_rv=0
    rm -f "${dir}/get" "${dir}/plain"
    curl -Z --parallel-immediate \
      "${tls[@]}" -o "${dir}/get" -w 'get %{http_code} %header{etag}\n' -H "X-Request-Id: ${RUN}-${w}-${i}-get" \
      "${u}?resourceVersion=${put_rv}&resourceVersionMatch=NotOlderThan" \
      --next "${tls[@]}" -o "${dir}/plain" -w 'plain %{http_code} %header{etag}\n' -H "X-Request-Id: ${RUN}-${w}-${i}-plain" \
      "${u}" >"${dir}/codes" 2>/dev/null
    get_code=000 get_rv=- plain_code=000 plain_rv=-
    while read -r kind code etag; do
      case "${kind}" in
        get) get_code="${code}" get_rv="$(rv "${etag:-}")" ;;
        plain) plain_code="${code}" plain_rv="$(rv "${etag:-}")" ;;
      esac
    done <"${dir}/codes"
    echo "pair ${w}-${i} ${want} $((attempts > 5 ? 5 : attempts)) ${put_code:-000} ${put_rv} ${get_code} ${get_rv} $(replicas "${dir}/get") ${plain_code} ${plain_rv} $(replicas "${dir}/plain")"
  done
}

started="$(date +%s.%N)"
for ((w = 0; w < WORKERS; w++)); do worker "${w}" & done
wait
echo "seconds $(echo "$(date +%s.%N) ${started}" | awk '{printf "%.1f", $1 - $2}')"
