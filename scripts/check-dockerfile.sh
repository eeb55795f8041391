#!/usr/bin/env bash
# Checks the root Dockerfile without a Docker engine:
#  1. the build stages: copies the build context (the repo minus .dockerignore) to a scratch dir
#     and runs the Dockerfile's own RUN commands there, in stage order, with the stages' ENV;
#  2. the binary they produce starts (`--help`, `serve --help`) and is where COPY --from expects;
#  3. the runtime stage: distroless nonroot base, numeric non-root USER, EXPOSE 8080 8081 8082,
#     exec-form ENTRYPOINT ["ironflow"] and CMD ["serve", "/mnt/models"], OCI labels, no RUN
#     (nothing may need a shell at run time).
# The `cargo install cargo-chef` step is skipped when cargo-chef is already installed.
# CARGO_TARGET_DIR (default: /work/target-docker, else <repo>/target/docker) is kept between runs,
# so a warm run only re-links.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
dockerfile="$repo/Dockerfile"
fail() { echo "check-dockerfile: $*" >&2; exit 1; }
[ -f "$dockerfile" ] || fail "no Dockerfile at $repo"
start=$(date +%s)

if [ -z "${CARGO_TARGET_DIR:-}" ]; then
  if [ -d /work ] && [ -w /work ]; then CARGO_TARGET_DIR=/work/target-docker; else CARGO_TARGET_DIR="$repo/target/docker"; fi
fi
export CARGO_TARGET_DIR
export CARGO_TERM_COLOR=never

# --- Parse the Dockerfile into stages: "<stage>\t<instruction>\t<args>" (continuations joined).
parsed="$(awk '
  /^[[:space:]]*#/ { next }
  { line = $0 }
  cont != "" { line = cont " " line; cont = "" }
  /\\[[:space:]]*$/ { sub(/\\[[:space:]]*$/, "", line); cont = line; next }
  line ~ /^[[:space:]]*$/ { next }
  {
    sub(/^[[:space:]]+/, "", line)
    instr = toupper(line); sub(/[[:space:]].*/, "", instr)
    rest = line; sub(/^[^[:space:]]+[[:space:]]*/, "", rest)
    if (instr == "FROM") { n = split(rest, w, /[[:space:]]+/); stage = (n >= 3 && toupper(w[2]) == "AS") ? w[3] : "stage" NR }
    printf "%s\t%s\t%s\n", (stage == "" ? "-" : stage), instr, rest
  }' "$dockerfile")"
stages="$(printf '%s\n' "$parsed" | awk -F'\t' '$2 == "FROM" { print $1 }')"
final="$(printf '%s\n' "$stages" | tail -n1)"
echo "== stages: $(echo $stages)"

# ARG defaults (global ones, before the first FROM, and per stage) substitute into FROM lines.
declare -A args
while IFS=$'\t' read -r _ instr rest; do
  if [ "$instr" = ARG ] && [[ "$rest" == *=* ]]; then args[${rest%%=*}]="${rest#*=}"; fi
done <<<"$parsed"
subst() { local s="$1" k; for k in "${!args[@]}"; do s="${s//\$\{$k\}/${args[$k]}}"; s="${s//\$$k/${args[$k]}}"; done; printf '%s' "$s"; }

# --- 1. Build stages, in a scratch copy of the build context.
scratch="$(mktemp -d "${TMPDIR:-/tmp}/ironflow-docker-check.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
context="$scratch/context"
mkdir -p "$context"
# .dockerignore patterns -> tar excludes (enough for the simple patterns we use).
excludes=()
while IFS= read -r pat; do
  pat="${pat%%#*}"; pat="${pat%"${pat##*[![:space:]]}"}"; [ -n "$pat" ] || continue
  pat="${pat%/}"; pat="${pat#\*\*/}"
  excludes+=("--exclude=./$pat" "--exclude=$pat")
done < <(cat "$repo/.dockerignore" 2>/dev/null || true)
(cd "$repo" && tar -cf - "${excludes[@]}" .) | tar -xf - -C "$context"
echo "== build context: $(du -sh "$context" | cut -f1) (after .dockerignore)"
[ ! -e "$context/target" ] || fail ".dockerignore lets target/ into the context"

for stage in $stages; do
  [ "$stage" != "$final" ] || continue
  workdir="$scratch/$stage"
  mkdir -p "$workdir"
  echo "== stage $stage ($(subst "$(printf '%s\n' "$parsed" | awk -F'\t' -v s="$stage" '$1 == s && $2 == "FROM" { split($3, w, /[[:space:]]+/); print w[1] }')"))"
  stage_env=()
  while IFS=$'\t' read -r s instr rest; do
    [ "$s" = "$stage" ] || continue
    case "$instr" in
      FROM)
        base="$(printf '%s' "$rest" | awk '{ print $1 }')"
        # A stage built on another stage starts from its files (WORKDIR content).
        if [ -d "$scratch/$base" ]; then cp -a "$scratch/$base/." "$workdir/"; fi ;;
      WORKDIR | ARG | LABEL) ;;
      ENV) value="${rest#*=}"; value="${value#\"}"; value="${value%\"}"  # KEY="a b" -> a b
        stage_env+=("${rest%%=*}=$value") ;;
      COPY)
        if [[ "$rest" == --from=* ]]; then
          from="${rest%% *}"; from="${from#--from=}"; spec="${rest#* }"
          src="${spec%% *}"; dst="${spec##* }"
          # Paths in the source stage are under its WORKDIR (/src); map them into its scratch dir.
          cp -a "$scratch/$from/${src#/src/}" "$workdir/$dst"
        else
          cp -a "$context/." "$workdir/"
        fi ;;
      RUN)
        if [[ "$rest" == "cargo install cargo-chef"* ]] && command -v cargo-chef >/dev/null; then
          echo "   skip (installed: $(cargo chef --version 2>/dev/null || echo cargo-chef)): $rest"
          continue
        fi
        echo "   RUN $rest"
        t0=$(date +%s)
        (cd "$workdir" && env "${stage_env[@]}" bash -euo pipefail -c "$rest") \
          || fail "stage $stage: \`$rest\` failed"
        echo "   ($(( $(date +%s) - t0 ))s)" ;;
      *) fail "stage $stage: instruction $instr is not understood by this script" ;;
    esac
  done <<<"$parsed"
done

# --- 2. The binary the runtime stage copies.
copy="$(printf '%s\n' "$parsed" | awk -F'\t' -v s="$final" '$1 == s && $2 == "COPY" { print $3 }')"
[[ "$copy" == --from=builder\ /src/target/image/ironflow\ /usr/local/bin/ironflow ]] \
  || fail "runtime stage copies '$copy', expected --from=builder /src/target/image/ironflow /usr/local/bin/ironflow"
bin="$CARGO_TARGET_DIR/image/ironflow"
[ -x "$bin" ] || fail "the builder stage did not produce $bin"
"$bin" --help >/dev/null || fail "ironflow --help failed"
"$bin" serve --help | grep -q -- '--http-port' || fail "ironflow serve --help lacks --http-port"
echo "== binary: $bin, $(( $(stat -c %s "$bin") / 1024 / 1024 )) MiB$(file "$bin" 2>/dev/null | grep -q 'not stripped' && echo ', NOT stripped' || true)"
ldd "$bin" 2>/dev/null | awk '{ print "   needs " $1 }' | grep -v -e linux-vdso -e ld-linux || true

# --- 3. Runtime-stage invariants.
final_lines="$(printf '%s\n' "$parsed" | awk -F'\t' -v s="$final" '$1 == s')"
get() { printf '%s\n' "$final_lines" | awk -F'\t' -v i="$1" '$2 == i { print $3 }'; }
from="$(subst "$(get FROM | awk '{ print $1 }')")"
[[ "$from" == gcr.io/distroless/cc-debian12:nonroot || "$from" == scratch ]] \
  || fail "runtime base is $from, expected gcr.io/distroless/cc-debian12:nonroot"
[ -z "$(get RUN)" ] || fail "the runtime stage has RUN steps: it must not need a shell"
user="$(get USER)"
[[ "$user" =~ ^[1-9][0-9]*(:[0-9]+)?$ ]] || fail "USER '$user' is not a numeric non-root uid"
for p in 8080 8081 8082; do
  get EXPOSE | tr ' ' '\n' | grep -qx "$p" || fail "port $p is not in EXPOSE"
done
[ "$(get ENTRYPOINT)" = '["ironflow"]' ] || fail "ENTRYPOINT is '$(get ENTRYPOINT)', expected [\"ironflow\"]"
[ "$(get CMD)" = '["serve", "/mnt/models"]' ] || fail "CMD is '$(get CMD)', expected [\"serve\", \"/mnt/models\"]"
for l in title description source licenses version; do
  printf '%s\n' "$final_lines" | grep -q "org.opencontainers.image.$l=" || fail "missing label org.opencontainers.image.$l"
done
# The default CMD must parse as the real CLI; no model at /mnt/models here, so expect that error.
out="$("$bin" serve /mnt/models --http-port 0 --grpc-port 0 2>&1 || true)"
grep -q -i -e "mlmodel" -e "/mnt/models" <<<"$out" || fail "ironflow serve /mnt/models: unexpected output: $out"

echo "== ok: Dockerfile builds outside Docker and its runtime stage checks out ($(( $(date +%s) - start ))s)"
