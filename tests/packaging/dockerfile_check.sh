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
#   D8  the build stage proves the image runs offline: it RUNs the ENTRYPOINT with --help (the
#       whole module graph loads with --cached-only --frozen); the Deno version named in the
#       Dockerfile's comments is the Makefile's DENO_VERSION
#   D9  EXPOSE lists the chart's ports (values.yaml ports.https and ports.probe)
#   D10 the context is staged (scripts/image/context.sh): every COPY source is one it stages, and
#       .dockerignore excludes everything ("*" and nothing let back in), so the repository root
#       (dev keys in certs/, kubeconfigs in .cache/) is never sent to a builder
#   D11 the ENTRYPOINT is deno.json's `start` task: `deno run`, the image-only --cached-only and
#       --frozen, then exactly the task's flags and entry module; environment assignments that
#       lead the task (NAME=value deno run ...) are ENV of the runtime stage with the same value,
#       except LD_PRELOAD (the task's is the host's jemalloc, `$(scripts/jemalloc.sh)`), which the
#       runtime stage must set too; the image's LD_PRELOAD is an absolute path ending in
#       libjemalloc.so.2 that a COPY of the runtime stage puts there, and the build stage's ENV
#       has the same LD_PRELOAD and MALLOC_CONF (its RUN --help starts deno the way the image does)
#
# DOCKERFILE checks another Dockerfile than the repository's (tests/packaging/dockerfile_check_test.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

dockerfile="${DOCKERFILE:-Dockerfile}"
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

# D8, D11
entry_words() { sed -e 's/^\[//' -e 's/\]$//' -e 's/", *"/\n/g' -e 's/^ *"//' -e 's/" *$//' <<<"$1"; }
mapfile -t entry < <(entry_words "${entrypoint}")
run_help=""
for line in "${lines[@]:0:${final_start}}"; do
  read -r instr rest <<<"${line}"
  [[ "${instr^^}" != RUN ]] || run_help="${rest}"
done
expected_run="[$(printf '"%s", ' "${entry[@]}")\"--help\"]"
[[ "${run_help}" == "${expected_run}" ]] ||
  bad "D8 the build stage must end with RUN ${expected_run} (the ENTRYPOINT loading every module offline), got: ${run_help:-none}"
make_deno="$(sed -n 's/^DENO_VERSION[[:space:]]*:*=[[:space:]]*//p' Makefile | head -n 1)"
if [[ -n "${make_deno}" ]]; then
  while IFS= read -r v; do
    [[ "${v}" == "deno@${make_deno}" ]] || bad "D8 the Dockerfile names ${v} but the Makefile installs deno@${make_deno}"
  done < <(grep -oE 'deno@[0-9]+\.[0-9]+\.[0-9]+' "${dockerfile}" | sort -u)
fi
start_task="$(sed -n 's/^[[:space:]]*"start":[[:space:]]*"\(.*\)",\{0,1\}[[:space:]]*$/\1/p' deno.json | head -n 1)"
read -r -a task <<<"${start_task}"
# stage_env <instructions...>: the NAME=value words of their ENV instructions, one a line (the last wins).
stage_env() { printf '%s\n' "$@" | awk 'toupper($1) == "ENV" { for (i = 2; i <= NF; i++) print $i }'; }
# env_value <NAME> <NAME=value lines>: the last value of NAME; status 1 when it is not set.
env_value() {
  local assignment
  assignment="$(grep -E "^$1=" <<<"$2" | tail -n 1)" || return 1
  printf '%s\n' "${assignment#*=}"
}
final_env="$(stage_env "${final[@]}")"
build_env="$(stage_env "${lines[@]:0:${final_start}}")"
while ((${#task[@]} > 0)) && [[ "${task[0]}" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; do
  name="${task[0]%%=*}" value="${task[0]#*=}"
  task=("${task[@]:1}")
  if ! image_value="$(env_value "${name}" "${final_env}")"; then
    if [[ "${name}" == LD_PRELOAD ]]; then
      bad "D11 deno.json's start task preloads jemalloc (LD_PRELOAD=${value}): the runtime stage needs ENV LD_PRELOAD=/absolute/path/libjemalloc.so.2 and a COPY of the library there"
    else
      bad "D11 deno.json's start task sets ${name}=${value}: the runtime stage needs ENV ${name}=${value}"
    fi
  elif [[ "${name}" != LD_PRELOAD && "${image_value}" != "${value}" ]]; then
    bad "D11 the runtime stage has ENV ${name}=${image_value} but deno.json's start task sets ${name}=${value}: keep them the same"
  fi
done
# LD_PRELOAD: the task finds the host's jemalloc; the image's is where its own COPY puts it.
if preload="$(env_value LD_PRELOAD "${final_env}")"; then
  if [[ "${preload}" != /*libjemalloc.so.2 ]]; then
    bad "D11 ENV LD_PRELOAD=${preload}: the runtime stage must preload jemalloc from an absolute path ending in libjemalloc.so.2, as deno.json's start task does"
  else
    copied=0
    for line in "${final[@]}"; do
      read -r -a words <<<"${line}"
      [[ "${words[0]^^}" == COPY ]] || continue
      dest="${words[-1]}" srcs=()
      for w in "${words[@]:1:${#words[@]}-2}"; do [[ "${w}" == --* ]] || srcs+=("${w}"); done
      for src in "${srcs[@]}"; do
        if [[ "${dest}" == "${preload}" && "${#srcs[@]}" == 1 && "${src##*/}" == libjemalloc.so.2 ]] ||
          [[ "${dest}" == */ && "${dest}${src##*/}" == "${preload}" ]]; then
          copied=1
        fi
      done
    done
    ((copied)) || bad "D11 ENV LD_PRELOAD=${preload}: no COPY of the runtime stage puts libjemalloc.so.2 there (ld.so would skip the preload with a warning and run on glibc's malloc)"
  fi
fi
# The build stage's RUN --help proves deno starts with the allocator the runtime stage preloads.
for name in LD_PRELOAD MALLOC_CONF; do
  image_value="$(env_value "${name}" "${final_env}")" || continue
  build_value="$(env_value "${name}" "${build_env}" || echo "not set")"
  [[ "${build_value}" == "${image_value}" ]] ||
    bad "D11 the build stage's ENV ${name} is ${build_value}, the runtime stage's ${image_value}: keep them the same, so RUN --help starts deno the way the image does"
done
if [[ "${task[0]:-}" != deno || "${task[1]:-}" != run ]]; then
  bad "D11 deno.json's start task is not 'deno run ...': ${start_task:-not found}"
else
  image_flags=()
  for w in "${entry[@]:2}"; do [[ "${w}" == --cached-only || "${w}" == --frozen ]] || image_flags+=("${w}"); done
  [[ "${entry[0]##*/}" == deno && "${entry[1]:-}" == run ]] || bad "D11 ENTRYPOINT must be the deno binary's 'run': ${entrypoint}"
  [[ " ${entry[*]} " == *" --cached-only "* && " ${entry[*]} " == *" --frozen "* ]] ||
    bad "D11 ENTRYPOINT must run with --cached-only --frozen (nothing downloaded, deno.lock enforced)"
  [[ "${image_flags[*]}" == "${task[*]:2}" ]] ||
    bad "D11 ENTRYPOINT runs '${image_flags[*]}' but deno.json's start task runs '${task[*]:2}': keep them the same"
fi

# D9
values=helm/replica-api/values.yaml
for key in https probe; do
  port="$(awk -v k="${key}" '/^ports:/ { p = 1; next } p && /^[^[:space:]]/ { p = 0 } p && $1 == k":" { print $2 }' "${values}")"
  [[ -n "${port}" ]] || { bad "D9 ports.${key} not found in ${values}"; continue; }
  printf '%s\n' "${lines[@]}" | grep -qE "^EXPOSE .*\b${port}\b" || bad "D9 EXPOSE does not list ports.${key} (${port}) of the chart"
done

# D10
staged="$(sed -n 's/^#   DIR\/\([^ ]*\).*/\1/p' scripts/image/context.sh)"
# Compared without a trailing slash: COPY app/ and DIR/app/ are the same directory.
staged_paths="$(sed -n 's/^#   DIR\/\([^ ]*[^/ ]\).*/\1/p' scripts/image/context.sh)"
for src in $(printf '%s\n' "${lines[@]}" | awk 'toupper($1) == "COPY" && $2 !~ /^--from/ { for (i = 2; i < NF; i++) if ($i !~ /^--/) print $i }'); do
  grep -qxF "${src%/}" <<<"${staged_paths}" || bad "D10 COPY ${src}: scripts/image/context.sh does not stage it (it stages: ${staged//$'\n'/ })"
done
if [[ ! -f "${ignore}" ]]; then
  bad "D10 ${ignore} not found: 'docker build .' would send the whole repository (dev keys in certs/) to the builder"
else
  mapfile -t patterns < <(grep -vE '^[[:space:]]*(#|$)' "${ignore}")
  [[ "${patterns[*]}" == "*" ]] || bad "D10 ${ignore} must be exactly '*': the build context is staged, the repository root is never sent"
fi

if ((errors > 0)); then
  echo "dockerfile_check: ${errors} problem(s) in ${dockerfile}/${ignore}" >&2
  exit 1
fi
echo "dockerfile_check: ${dockerfile} and ${ignore} follow D1-D11" >&2
