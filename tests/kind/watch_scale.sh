#!/usr/bin/env bash
# Runs in a client Pod of the KIND suite (tests/kind/kind_test.ts, "a scale through the Service ... watch ...
# Event"): opens the SSE watch of namespace NS through the Service (API) with `curl -N`, scales NS/NAME to
# REPLICAS through the Service on another connection once the watch has sent its snapshot, waits for the
# MODIFIED event that carries the new count, and prints what it got, for the test to judge:
#
#   put <status> <ETag>
#   --- headers
#   <the watch response's headers>
#   --- stream
#   <the event stream as received>
#   --- end
#
# Needs API, NS, NAME, REPLICAS; the client certificate in /tls; a writable /tmp.
set -u
tls=(-sS --http1.1 --cert /tls/tls.crt --key /tls/tls.key --cacert /tls/ca.crt)
list="${API}/api/v1/namespaces/${NS}/deployments"
work="$(mktemp -d)"

# The Deployment is new: wait until the replica behind the next connection serves it.
for ((k = 0; k < 60; k++)); do
  [[ "$(curl "${tls[@]}" --max-time 5 -o /dev/null -w '%{http_code}' "${list}/${NAME}/replicas" 2>/dev/null)" == 200 ]] && break
  sleep 0.5
done

curl "${tls[@]}" -N --max-time 60 -D "${work}/headers" "${list}?watch=true" >"${work}/stream" 2>"${work}/err" &
watcher=$!
for ((k = 0; k < 100; k++)); do
  grep -q '^event: ADDED' "${work}/stream" && break
  sleep 0.1
done

put="$(curl "${tls[@]}" --max-time 15 -o /dev/null -w '%{http_code} %header{etag}' -X PUT -H 'Content-Type: application/json' \
  -d "{\"replicas\":${REPLICAS}}" "${list}/${NAME}/replicas" 2>&1)"
echo "put ${put}"
for ((k = 0; k < 150; k++)); do
  grep -A 2 '^event: MODIFIED' "${work}/stream" | grep -q "\"replicas\":${REPLICAS}," && break
  sleep 0.1
done
kill "${watcher}" 2>/dev/null
wait "${watcher}" 2>/dev/null
echo "--- headers"
tr -d '\r' <"${work}/headers"
echo "--- stream"
cat "${work}/stream"
echo "--- end"
cat "${work}/err" >&2
