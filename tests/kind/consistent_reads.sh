#!/usr/bin/env bash
# Runs in a client Pod of the KIND suite (tests/kind/kind_test.ts, "consistent reads across replicas").
# PAIRS times: a PUT of the replicas of NS/NAME through the Service (API), then two GETs started together:
# one with ?resourceVersion=<the PUT's ETag>&resourceVersionMatch=NotOlderThan, one plain (the control).
# Every request opens a new connection (its own curl transfer; --parallel-immediate keeps curl from waiting
# for the first GET's connection), so kube-proxy spreads them over the replicas. Each carries the
# X-Request-Id <RUN>-<i>-put|get|plain, which the service's access log repeats: the test tells from the
# Pods' logs which replica answered. The test judges the pairs; this prints one line per pair:
#
#   pair <i> <replicas written> <PUT status> <PUT rv> <GET status> <GET rv> <GET replicas> <plain status> <plain rv> <plain replicas>
#
# Needs API, NS, NAME, PAIRS, RUN; the client certificate in /tls; a writable /tmp.
set -u
tls=(-sS --http1.1 --max-time 15 --cert /tls/tls.crt --key /tls/tls.key --cacert /tls/ca.crt)
url="${API}/api/v1/namespaces/${NS}/deployments/${NAME}/replicas"
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

started="$(date +%s.%N)"
for ((i = 1; i <= PAIRS; i++)); do
  want=$((i % 2 + 1))
  put="$(curl "${tls[@]}" -o /dev/null -w '%{http_code} %header{etag}' -X PUT -H 'Content-Type: application/json' \
    -H "X-Request-Id: ${RUN}-${i}-put" -d "{\"replicas\":${want}}" "${url}" 2>/dev/null)"
  put_code="${put%% *}" put_rv="$(rv "${put#* }")"
  [[ "${put_rv}" != - ]] || put_rv=0
  rm -f "${work}/get" "${work}/plain"
  curl -Z --parallel-immediate \
    "${tls[@]}" -o "${work}/get" -w 'get %{http_code} %header{etag}\n' -H "X-Request-Id: ${RUN}-${i}-get" \
    "${url}?resourceVersion=${put_rv}&resourceVersionMatch=NotOlderThan" \
    --next "${tls[@]}" -o "${work}/plain" -w 'plain %{http_code} %header{etag}\n' -H "X-Request-Id: ${RUN}-${i}-plain" \
    "${url}" >"${work}/codes" 2>/dev/null
  get_code=000 get_rv=- plain_code=000 plain_rv=-
  while read -r kind code etag; do
    case "${kind}" in
      get) get_code="${code}" get_rv="$(rv "${etag:-}")" ;;
      plain) plain_code="${code}" plain_rv="$(rv "${etag:-}")" ;;
    esac
  done <"${work}/codes"
  echo "pair ${i} ${want} ${put_code:-000} ${put_rv} ${get_code} ${get_rv} $(replicas "${work}/get") ${plain_code} ${plain_rv} $(replicas "${work}/plain")"
done
echo "seconds $(echo "$(date +%s.%N) ${started}" | awk '{printf "%.1f", $1 - $2}')"
