#!/usr/bin/env bash
# Development PKI for replica-api's mTLS listener. See certs/README.md.
#
#   certs/gen.sh [outdir]          (default outdir: the folder this script is in)
#
# Environment:
#   SERVER_SANS  extra subjectAltNames for the server certificate, comma-separated
#                openssl syntax, e.g. "DNS:replica-api.default.svc,DNS:replica-api"
#   CLIENT_CN    client certificate common name (default "dev-sre")
#   CLIENT_O     client certificate organisations, comma-separated (default "sre")
#
# Idempotent: a file is only (re)generated when it is missing, expires within a
# day, no longer chains to ca.crt, or no longer matches the settings above.
set -euo pipefail

readonly CA_DAYS=30
readonly LEAF_DAYS=7
readonly RENEW_BEFORE_SECONDS=86400

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$script_dir}"
server_sans="DNS:localhost,IP:127.0.0.1${SERVER_SANS:+,$SERVER_SANS}"
client_cn="${CLIENT_CN:-dev-sre}"
client_o="${CLIENT_O:-sre}"

command -v openssl >/dev/null || { echo "gen.sh: openssl not found" >&2; exit 1; }
mkdir -p "$out"
work="$(mktemp -d "$out/.gen.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# A private config keeps the distro's openssl.cnf defaults out of the certificates.
cat >"$work/openssl.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $server_sans
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
EOF

log() { echo "gen.sh: $*" >&2; }

# quiet CMD...: run CMD, showing its stderr only if it fails (openssl chats on success).
quiet() {
  "$@" 2>"$work/stderr" || { cat "$work/stderr" >&2; return 1; }
}

# usable CERT: exists and is valid for at least another RENEW_BEFORE_SECONDS.
usable() {
  [[ -s "$1" ]] && openssl x509 -in "$1" -noout -checkend "$RENEW_BEFORE_SECONDS" >/dev/null 2>&1
}

# The subject line as openssl prints it (RFC 2253 form, for stable comparison).
subject_of() {
  openssl x509 -in "$1" -noout -subject -nameopt RFC2253 | sed 's/^subject=//'
}

# new_key NAME: a P-256 key in the work dir, readable only by its owner.
new_key() {
  (umask 077 && quiet openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/$1.key")
}

# install_pair NAME: move a freshly made key and certificate into place together.
install_pair() {
  chmod 600 "$work/$1.key"
  chmod 644 "$work/$1.crt"
  mv -f "$work/$1.key" "$out/$1.key"
  mv -f "$work/$1.crt" "$out/$1.crt"
  log "wrote $out/$1.crt ($(openssl x509 -in "$out/$1.crt" -noout -enddate))"
}

# issue NAME SUBJECT EXTENSIONS: a leaf certificate signed by the CA in $out.
issue() {
  new_key "$1"
  quiet openssl req -new -config "$work/openssl.cnf" -key "$work/$1.key" -subj "$2" -out "$work/$1.csr"
  quiet openssl x509 -req -in "$work/$1.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days "$LEAF_DAYS" -sha256 \
    -extfile "$work/openssl.cnf" -extensions "$3" -out "$work/$1.crt"
  install_pair "$1"
}

# current NAME: exists, not expiring, signed by the current CA.
current() {
  usable "$out/$1.crt" && [[ -s "$out/$1.key" ]] &&
    openssl verify -CAfile "$out/ca.crt" "$out/$1.crt" >/dev/null 2>&1
}

# --- CA ---------------------------------------------------------------------
# A CA that outlives its leaves by less than their lifetime would make every
# renewal short-lived, so renew it when it has less than LEAF_DAYS left.
if ! { [[ -s "$out/ca.key" ]] && [[ -s "$out/ca.crt" ]] &&
  openssl x509 -in "$out/ca.crt" -noout -checkend $((LEAF_DAYS * 86400)) >/dev/null 2>&1; }; then
  new_key ca
  quiet openssl req -x509 -config "$work/openssl.cnf" -key "$work/ca.key" \
    -subj "/CN=replica-api dev CA $(date -u +%Y%m%dT%H%M%SZ)" -days "$CA_DAYS" -sha256 \
    -set_serial "0x$(openssl rand -hex 16)" -extensions ca_ext -out "$work/ca.crt"
  install_pair ca
fi

# --- server -----------------------------------------------------------------
# Compared as text: openssl prints "IP Address:" where the config says "IP:".
# (IPv6 SANs print in a different form, so they cause a regeneration each run.)
want_sans="$(tr -d ' ' <<<"$server_sans" | sed 's/IP:/IPAddress:/g')"
have_sans=""
if [[ -s "$out/server.crt" ]]; then
  have_sans="$(openssl x509 -in "$out/server.crt" -noout -ext subjectAltName 2>/dev/null | tail -n +2 | tr -d ' ')"
fi
if ! current server || [[ "$have_sans" != "$want_sans" ]]; then
  issue server "/CN=localhost" server_ext
fi

# --- client -----------------------------------------------------------------
client_subj="/CN=$client_cn"
want_subject="CN=$client_cn"
IFS=',' read -r -a orgs <<<"$client_o"
for org in "${orgs[@]}"; do
  [[ -n "$org" ]] || continue
  client_subj+="/O=$org"
  # RFC 2253 prints the most significant RDN last: the O values come before CN, reversed.
  want_subject="O=$org,$want_subject"
done
if ! current client || [[ "$(subject_of "$out/client.crt")" != "$want_subject" ]]; then
  issue client "$client_subj" client_ext
fi

log "PKI in $out is current (CA ${CA_DAYS}d, leaves ${LEAF_DAYS}d)"
