#!/usr/bin/env bash
# Static rules for the Dockerfile and .dockerignore: the properties the image promises that
# no container engine is needed to check. Runs in `make chart-test` next to hadolint (a
# general linter); these are the project's own rules, each failing with one line:
#
#   D1  multi-stage: a build stage and a final runtime stage
#   D2  every base image is pinned by an explicit tag or digest (ARG defaults resolved), never :latest
#   D3  the runtime base is distroless (no shell, no package manager)
#   D4  the final stage runs as a numeric non-root USER (the chart's runAsNonRoot needs a numeric UID)
#   D5  the final stage has no RUN (nothing to run it with) and an exec-form ENTRYPOINT
#   D6  no ADD (remote or archive magic); COPY never names certificates or keys
#   D7  no ENV/ARG that looks like a credential
#   D8  the build stage uses the project's recipes: `make deno` (Deno from npm, as the Makefile
#       installs it) and `make binary` (the same deno compile as CI); the Deno version named in the
#       Dockerfile's comments is the Makefile's DENO_VERSION
#   D9  EXPOSE lists the chart's ports (values.yaml ports.https and ports.probe)
#   D10 .dockerignore is an allow-list (starts with "*") that does not let certs/, .cache/,
#       .tools/, node_modules/ or dist/ back in, and lets in what the build copies
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

dockerfile=Dockerfile
ignore=.dockerignore
errors=0
bad() {
  printf 'dockerfile_check: %s\n' "$*" >&2
  errors=$((errors + 1))
}

[[ -f "${dockerfile}" ]] || { bad "D0 ${dockerfile} not found"; exit 1; }
# Instructions with line continuations joined, comments and blank lines dropped.
mapfile -t lines < <(sed -e 's/\r$//' "${dockerfile}" | awk '
  /^[[:space:]]*#/ { next }
  { if (sub(/\\[[:space:]]*$/, "")) { buf = buf $0 " "; next } print buf $0; buf = "" }' | grep -v '^[[:space:]]*$')

declare -A arg_default=()
froms=()
final_start=0
for i in "${!lines[@]}"; do
  line="${lines[$i]}"
  read -r instr rest <<<"${line}"
  instr="${instr^^}"
  case "${instr}" in
    ARG)
      name="${rest%%=*}"
      [[ "${rest}" == *=* ]] && arg_default["${name}"]="${rest#*=}"
      ;;
    FROM)
      froms+=("${rest}")
      final_start=${i}
      ;;
  esac
done

# resolve <image>: ${VAR} / $VAR replaced by ARG defaults.
resolve() {
  local s="$1" name
  while [[ "${s}" =~ \$\{?([A-Za-z_][A-Za-z0-9_]*)\}? ]]; do
    name="${BASH_REMATCH[1]}"
    [[ -n "${arg_default[${name}]+x}" ]] || { echo "${s}"; return; }
    s="${s//\$\{${name}\}/${arg_default[${name}]}}"
    s="${s//\$${name}/${arg_default[${name}]}}"
  done
  echo "${s}"
}

# D1
((${#froms[@]} >= 2)) || bad "D1 expected a multi-stage build (a build stage and a runtime stage), found ${#froms[@]} FROM"

# D2, D3
stages=()
for from in "${froms[@]}"; do
  read -r -a words <<<"${from}"
  image=""
  for w in "${words[@]}"; do
    [[ "${w}" == --* ]] && continue
    image="${w}"
    break
  done
  [[ "${from}" =~ [[:space:]][Aa][Ss][[:space:]]+([^[:space:]]+) ]] && stages+=("${BASH_REMATCH[1]}")
  resolved="$(resolve "${image}")"
  # A FROM naming an earlier stage is not a base image.
  if printf '%s\n' "${stages[@]}" | grep -qxF "${resolved}" && [[ "${from}" != *" AS ${resolved}" && "${from}" != *" as ${resolved}" ]]; then
    continue
  fi
  if [[ "${resolved}" == *'$'* ]]; then
    bad "D2 base image ${image} uses an ARG without a default"
  elif [[ "${resolved}" != *@sha256:* ]]; then
    last="${resolved##*/}"
    [[ "${last}" == *:* ]] || bad "D2 base image ${resolved} has no tag: pin it"
    [[ "${last}" != *:latest ]] || bad "D2 base image ${resolved} uses :latest: pin a version"
  fi
done
final_image="$(resolve "$(awk '{for (i = 1; i <= NF; i++) if ($i !~ /^--/) { print $i; exit }}' <<<"${froms[-1]:-}")")"
[[ "${final_image}" == gcr.io/distroless/* ]] || bad "D3 runtime base ${final_image} is not distroless"

# D4, D5 (final stage)
final=("${lines[@]:${final_start}}")
user=""
entrypoint=""
for line in "${final[@]}"; do
  read -r instr rest <<<"${line}"
  case "${instr^^}" in
    USER) user="${rest}" ;;
    RUN) bad "D5 the runtime stage has RUN (${rest:0:40}...): it has no shell" ;;
    ENTRYPOINT) entrypoint="${rest}" ;;
  esac
done
uid="${user%%:*}"
if [[ -z "${user}" ]]; then
  bad "D4 the runtime stage sets no USER (it would run as root)"
elif ! [[ "${uid}" =~ ^[0-9]+$ ]] || ((uid == 0)); then
  bad "D4 USER ${user}: use a numeric non-zero UID (runAsNonRoot cannot verify a user name)"
fi
[[ "${entrypoint}" =~ ^\[.*\]$ ]] || bad "D5 ENTRYPOINT must be in exec form [\"...\"] (no shell in the image), got: ${entrypoint:-none}"

# D6, D7 (all stages)
for line in "${lines[@]}"; do
  read -r instr rest <<<"${line}"
  case "${instr^^}" in
    ADD) bad "D6 ADD ${rest}: use COPY (or a RUN with a checked download)" ;;
    COPY)
      if grep -qiE '(^|[[:space:]/])certs/|\.(key|pem|crt|p12|pfx)([[:space:]]|$)|kubeconfig' <<<"${rest}"; then
        bad "D6 COPY ${rest}: certificates, keys and kubeconfigs are mounted at run time, never baked in"
      fi
      ;;
    ENV | ARG)
      if grep -qiE '(^|[[:space:]_])(PASSWORD|PASSWD|TOKEN|SECRET|PRIVATE_KEY|API_KEY)[A-Z_]*=' <<<" ${rest}"; then
        bad "D7 ${instr} ${rest}: looks like a credential"
      fi
      ;;
  esac
done

# D8
grep -qE '^RUN .*\bmake\b.*\bdeno\b' < <(printf '%s\n' "${lines[@]}") ||
  bad "D8 the build stage must install Deno with 'make deno' (the npm package, as the Makefile does)"
grep -qE '^RUN .*\bmake\b.*\bbinary\b' < <(printf '%s\n' "${lines[@]}") ||
  bad "D8 the build stage must build with 'make binary' (the same deno compile as CI)"
make_deno="$(sed -n 's/^DENO_VERSION[[:space:]]*:*=[[:space:]]*//p' Makefile | head -n 1)"
if [[ -n "${make_deno}" ]]; then
  while IFS= read -r v; do
    [[ "${v}" == "deno@${make_deno}" ]] || bad "D8 the Dockerfile names ${v} but the Makefile installs deno@${make_deno}"
  done < <(grep -oE 'deno@[0-9]+\.[0-9]+\.[0-9]+' "${dockerfile}" | sort -u)
fi

# D9
values=helm/replica-api/values.yaml
for key in https probe; do
  port="$(awk -v k="${key}" '/^ports:/ { p = 1; next } p && /^[^[:space:]]/ { p = 0 } p && $1 == k":" { print $2 }' "${values}")"
  [[ -n "${port}" ]] || { bad "D9 ports.${key} not found in ${values}"; continue; }
  printf '%s\n' "${lines[@]}" | grep -qE "^EXPOSE .*\b${port}\b" || bad "D9 EXPOSE does not list ports.${key} (${port}) of the chart"
done

# D10
if [[ ! -f "${ignore}" ]]; then
  bad "D10 ${ignore} not found: the whole repository (dev keys in certs/) would be sent to the builder"
else
  mapfile -t patterns < <(grep -vE '^[[:space:]]*(#|$)' "${ignore}")
  [[ "${patterns[0]:-}" == "*" ]] || bad "D10 ${ignore} must start with '*' (allow-list)"
  for p in "${patterns[@]}"; do
    case "${p}" in
      '!certs'* | '!.cache'* | '!.tools'* | '!node_modules'* | '!dist'* | '!*' | '!**') bad "D10 ${ignore} lets ${p#!} into the build context" ;;
    esac
  done
  for src in $(printf '%s\n' "${lines[@]}" | awk '$1 == "COPY" && $2 !~ /^--from/ { for (i = 2; i < NF; i++) if ($i !~ /^--/) print $i }'); do
    src="${src%/}"
    printf '%s\n' "${patterns[@]}" | grep -qxE "!${src}/?" || bad "D10 COPY ${src} but ${ignore} does not allow it in"
  done
fi

if ((errors > 0)); then
  echo "dockerfile_check: ${errors} problem(s) in ${dockerfile}/${ignore}" >&2
  exit 1
fi
echo "dockerfile_check: ${dockerfile} and ${ignore} follow D1-D10" >&2
