#!/usr/bin/env bash
# Short-lived client certificates from the dev CA, with an `openssl ca` database so they can be revoked.
# See certs/README.md. Normally run through make:
#
#   make client-cert CN=alice O=sre,oncall [DAYS=7]   ->  certs/clients.sh issue  [outdir]
#   make revoke-cert CN=alice                         ->  certs/clients.sh revoke [outdir]
#   certs/clients.sh crl [outdir]                     (re-sign certs/crl.pem, e.g. before its nextUpdate)
#
# Environment: CN (required), O (comma-separated organisations, optional), DAYS (1..30, default 7).
# The CA (ca.crt/ca.key in outdir) is created with gen.sh when missing. Outputs, all git-ignored:
#   clients/<CN>.crt, clients/<CN>.key   the certificate and its key (mode 600)
#   crl.pem                              the CA's CRL, re-signed by every command (valid CRL_DAYS)
#   ca-db/                               the openssl ca database: index.txt, crlnumber, issued/<serial>.pem
set -euo pipefail

readonly DEFAULT_DAYS=7
readonly MAX_DAYS=30
readonly CRL_DAYS=7

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command="${1:-}"
out="${2:-$script_dir}"
db="$out/ca-db"

die() { echo "clients.sh: $*" >&2; exit 2; }
log() { echo "clients.sh: $*" >&2; }

# A path as the user will type it: relative to the current directory when below it.
shown() { case "$1" in "$PWD"/*) echo "${1#"$PWD"/}" ;; *) echo "$1" ;; esac; }

command -v openssl >/dev/null || die "openssl not found"
case "$command" in issue | revoke | crl) ;; *) die "usage: clients.sh issue|revoke|crl [outdir] (see certs/README.md)" ;; esac

# --- the request: checked before anything is created ---------------------------
# Names become file names and openssl -subj fields: letters, digits and . _ @ - only (and spaces inside O).
readonly CN_PATTERN='^[A-Za-z0-9][A-Za-z0-9._@-]*$'
readonly O_PATTERN='^[A-Za-z0-9][A-Za-z0-9._@ -]*$'
cn="${CN:-}"
if [[ "$command" != crl ]]; then
  [[ -n "$cn" ]] || die "CN is empty: make $([[ $command == issue ]] && echo client-cert || echo revoke-cert) CN=alice ..."
  [[ "$cn" =~ $CN_PATTERN ]] || die "CN \"$cn\": use letters, digits and . _ @ - (it becomes clients/<CN>.crt)"
fi
if [[ "$command" == issue ]]; then
  days="${DAYS:-$DEFAULT_DAYS}"
  [[ "$days" =~ ^[0-9]+$ ]] || die "DAYS \"$days\" is not a whole number of days"
  ((10#$days >= 1 && 10#$days <= MAX_DAYS)) || die "DAYS=$days: client certificates last 1 to $MAX_DAYS days (short-lived on purpose)"
  days=$((10#$days))
  subj="/CN=$cn"
  IFS=',' read -r -a orgs <<<"${O:-}"
  for org in "${orgs[@]}"; do
    [[ -n "$org" ]] || continue
    [[ "$org" =~ $O_PATTERN ]] || die "O \"$org\": use letters, digits, spaces and . _ @ -"
    subj+="/O=$org"
  done
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/replica-api-clients.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# quiet CMD...: run CMD, showing its stderr only if it fails (openssl ca chats on success).
quiet() {
  "$@" 2>"$work/stderr" || { cat "$work/stderr" >&2; return 1; }
}

# --- the CA and its database --------------------------------------------------
if [[ ! -s "$out/ca.crt" || ! -s "$out/ca.key" ]]; then
  log "no CA in $(shown "$out"): creating the dev PKI with gen.sh"
  "$script_dir/gen.sh" "$out"
fi

# The database belongs to one CA: gen.sh replaces the CA near its expiry, and the old CA's serials and revocations
# mean nothing for the new one. Start afresh then, keeping the old database aside.
fingerprint="$(openssl x509 -in "$out/ca.crt" -noout -fingerprint -sha256 | cut -d= -f2)"
if [[ -d "$db" && "$(cat "$db/ca.fingerprint" 2>/dev/null)" != "$fingerprint" ]]; then
  old="$db.$(date -u +%Y%m%dT%H%M%SZ).old"
  mv "$db" "$old"
  log "the CA changed since the database was made: started a new one (old one in $(shown "$old"))"
fi
if [[ ! -d "$db" ]]; then
  mkdir -p "$db/issued"
  : >"$db/index.txt"
  echo 01 >"$db/crlnumber"
  echo "$fingerprint" >"$db/ca.fingerprint"
fi

# The client_ext section matches gen.sh's, so these certificates look like certs/client.crt.
cat >"$work/ca.cnf" <<EOF
[ca]
default_ca = dev_ca
[dev_ca]
dir = $db
database = $db/index.txt
# Serials are random (-rand_serial); openssl still wants a serial file named.
serial = $db/serial
crlnumber = $db/crlnumber
new_certs_dir = $db/issued
certificate = $out/ca.crt
private_key = $out/ca.key
default_md = sha256
policy = policy_cn
unique_subject = no
copy_extensions = none
email_in_dn = no
crl_extensions = crl_ext
[policy_cn]
commonName = supplied
organizationName = optional
[client_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
[crl_ext]
authorityKeyIdentifier = keyid
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
EOF

write_crl() {
  quiet openssl ca -config "$work/ca.cnf" -gencrl -crldays "$CRL_DAYS" -out "$work/crl.pem"
  chmod 644 "$work/crl.pem"
  mv -f "$work/crl.pem" "$out/crl.pem"
  log "wrote $(shown "$out/crl.pem") ($(grep -c $'^R\t' "$db/index.txt" || true) revoked; $(openssl crl -in "$out/crl.pem" -noout -nextupdate))"
}

case "$command" in
issue)
  # A certificate that outlives its CA stops working with it: refuse rather than promise days that will not come.
  if ! openssl x509 -in "$out/ca.crt" -noout -checkend $((days * 86400)) >/dev/null; then
    ca_end="$(openssl x509 -in "$out/ca.crt" -noout -enddate | cut -d= -f2)"
    left=$((($(date -u -d "$ca_end" +%s) - $(date -u +%s)) / 86400))
    die "DAYS=$days: the CA expires in $left days ($ca_end), so DAYS can be at most $left (make certs renews the CA when it has less than 7 days left)"
  fi
  (umask 077 && quiet openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/client.key")
  quiet openssl req -new -config "$work/ca.cnf" -key "$work/client.key" -subj "$subj" -out "$work/client.csr"
  # -preserveDN keeps CN first and every O, as gen.sh's client certificate has them.
  quiet openssl ca -config "$work/ca.cnf" -batch -notext -rand_serial -preserveDN -days "$days" \
    -extensions client_ext -in "$work/client.csr" -out "$work/client.crt"
  mkdir -p "$out/clients"
  chmod 600 "$work/client.key"
  chmod 644 "$work/client.crt"
  mv -f "$work/client.key" "$out/clients/$cn.key"
  mv -f "$work/client.crt" "$out/clients/$cn.crt"
  crt="$(shown "$out/clients/$cn.crt")"
  key="$(shown "$out/clients/$cn.key")"
  ca="$(shown "$out/ca.crt")"
  serial="$(openssl x509 -in "$out/clients/$cn.crt" -noout -serial | cut -d= -f2)"
  log "wrote $crt ($subj, serial $serial, $(openssl x509 -in "$out/clients/$cn.crt" -noout -enddate))"
  # Re-signed each time: a new CA database (see above) must not leave the old CA's CRL behind, and it stays fresh.
  write_crl
  cat <<EOF
Use it:
  bin/replica-api --cert $crt --key $key --cacert $ca list
  curl --cert $crt --key $key --cacert $ca https://localhost:8443/
Revoke it (and every other certificate issued to CN=$cn): make revoke-cert CN=$cn
EOF
  ;;
revoke)
  # index.txt: status, expiry, revocation date, serial, file, subject (tab-separated). Only valid ones can be revoked.
  # Compared as a string, not a regex: a CN may contain dots.
  serials="$(awk -F'\t' -v cn="$cn" '$1 == "V" { split($6, rdn, "/"); if (rdn[2] == "CN=" cn) print $4 }' "$db/index.txt")"
  [[ -n "$serials" ]] || { echo "clients.sh: no valid certificate for CN=$cn in $(shown "$db/index.txt")" >&2; exit 1; }
  for serial in $serials; do
    quiet openssl ca -config "$work/ca.cnf" -revoke "$db/issued/$serial.pem"
    log "revoked CN=$cn serial $serial"
  done
  write_crl
  ;;
crl)
  write_crl
  ;;
esac
