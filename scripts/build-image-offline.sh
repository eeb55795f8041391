#!/usr/bin/env bash
# Builds and runs the ironflow image where base images cannot be pulled (only the package
# registries are reachable) and no Docker daemon runs: Debian's podman/buildah instead.
#
#  1. the Dockerfile's builder stage, outside a container: `cargo build --profile image` with its
#     ENV (packed relocations) into target/docker-check, as scripts/check-dockerfile.sh does;
#  2. a local stand-in for gcr.io/distroless/cc-debian12:nonroot, assembled FROM scratch out of
#     this Debian 12 machine's files: the dynamic loader and the libraries `ldd` lists for the
#     binary (libc, libm, libgcc_s), CA certificates, /etc/passwd and /etc/group with root,
#     nobody and nonroot (65532), /home/nonroot and an empty /tmp (1777);
#  3. the Dockerfile's runtime stage itself (its FROM ... AS runtime to the end: labels, USER,
#     EXPOSE, ENTRYPOINT, CMD), built by buildah on that base with the binary of step 1 in place
#     of `COPY --from=builder`;
#  4. with --run: serves examples/models/iris-logreg-onnx at /mnt/models (read-only volume) with
#     a read-only root filesystem and no tmpfs, checks the process runs as uid 65532 and that an
#     inference answers, then stops it. Podman runs it with runc (Debian's crun refuses this
#     machine's hybrid cgroup layout) and explicit ulimits.
#
# Prints the image's uncompressed size (podman image inspect) and its gzip-compressed size (the
# saved image archive through gzip -6, about what a registry stores).
#
#   apt-get install -y podman buildah runc
#   scripts/build-image-offline.sh [--run] [--tag ironflow:local] [--binary PREBUILT]
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
tag="localhost/ironflow:local"
base_tag="localhost/ironflow-base:cc-debian12-nonroot"
run=0
bin=""
while [ $# -gt 0 ]; do
  case "$1" in
    --run) run=1 ;;
    --tag) tag="$2"; shift ;;
    --binary) bin="$2"; shift ;;
    *) echo "usage: $0 [--run] [--tag NAME] [--binary PREBUILT]" >&2; exit 2 ;;
  esac
  shift
done
fail() { echo "build-image-offline: $*" >&2; exit 1; }
for tool in podman buildah; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (apt-get install -y podman buildah runc)"
done

# --- 1. The builder stage's binary (or --binary: one built already).
if [ -z "$bin" ]; then
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target/docker-check}"
  # The builder stage's profile and ENV (the packed relocations' linker flag).
  rustflags="$(sed -n 's/^ENV CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="\(.*\)"$/\1/p' "$repo/Dockerfile")"
  echo "== cargo build --profile image (CARGO_TARGET_DIR=$CARGO_TARGET_DIR, RUSTFLAGS: $rustflags)"
  (cd "$repo" && CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="$rustflags" CARGO_TERM_COLOR=never \
    nice -n 10 cargo build --profile image --locked --bin ironflow)
  bin="$CARGO_TARGET_DIR/image/ironflow"
fi
echo "   binary: $(stat -c %s "$bin") bytes"

work="$(mktemp -d "${TMPDIR:-/tmp}/ironflow-image.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# --- 2. The runtime base, from this machine's Debian files.
root="$work/rootfs"
mkdir -p "$root/etc/ssl/certs" "$root/tmp" "$root/home/nonroot" "$root/root" "$root/usr/local/bin"
for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$root/etc/group"
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
chmod 1777 "$root/tmp"
chown 65532:65532 "$root/home/nonroot"
echo "== base $base_tag: $(cd "$root" && find . -type f | sed 's|^\.||' | tr '\n' ' ')"
ctr="$(buildah from scratch)"
buildah copy --quiet "$ctr" "$root" / >/dev/null
buildah config --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt "$ctr"
buildah commit --quiet --rm "$ctr" "$base_tag" >/dev/null

# --- 3. The Dockerfile's runtime stage on that base.
context="$work/context"
mkdir -p "$context"
cp "$bin" "$context/ironflow"
awk '/^FROM .* AS runtime/ { on = 1 } on' "$repo/Dockerfile" \
  | sed 's|^COPY --from=builder /src/target/image/ironflow |COPY ironflow |' \
  | sed "s|^FROM \${RUNTIME_IMAGE} AS runtime|FROM $base_tag AS runtime|" >"$context/Containerfile"
grep -q "^FROM $base_tag AS runtime" "$context/Containerfile" || fail "no 'FROM \${RUNTIME_IMAGE} AS runtime' stage in the Dockerfile"
grep -q '^COPY ironflow /usr/local/bin/ironflow' "$context/Containerfile" || fail "the runtime stage's COPY changed"
echo "== runtime stage:"; sed 's/^/   /' "$context/Containerfile"
buildah build --quiet --pull=never -f "$context/Containerfile" -t "$tag" "$context" >/dev/null

size="$(podman image inspect --format '{{.Size}}' "$tag")"
gz="$(podman save --format docker-archive "$tag" 2>/dev/null | gzip -6 | wc -c)"
echo "== image $tag: $size bytes uncompressed ($(( size / 1000000 )) MB), $gz bytes gzip-compressed ($(( gz / 1000000 )) MB)"

# --- 4. Run it: uid 65532, read-only root filesystem, a model mounted read-only.
[ "$run" = 1 ] || exit 0
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
name="ironflow-image-check-$$"
model="$repo/examples/models/iris-logreg-onnx"
podman --runtime runc run -d --name "$name" --read-only --read-only-tmpfs=false \
  --network host --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
  -v "$model/model:/mnt/models:ro" \
  -e MLSERVER_MODEL_NAME=iris -e MLSERVER_HOST=127.0.0.1 -e MLSERVER_HTTP_PORT="$port" \
  -e MLSERVER_GRPC_PORT=0 -e MLSERVER_METRICS_PORT=0 "$tag" >/dev/null
cleanup() { podman --runtime runc rm -f "$name" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/v2/health/ready" >/dev/null && break
  sleep 0.2
done
pid="$(podman inspect --format '{{.State.Pid}}' "$name")"
echo "== running: $(grep -E '^(Uid|Gid):' "/proc/$pid/status" | tr -s '\t' ' ' | tr '\n' ' ')"
echo "   read-only root filesystem: $(podman inspect --format '{{.HostConfig.ReadonlyRootfs}}' "$name")"
[ "$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")" = 65532 ] || fail "not running as uid 65532"
answer="$(curl -sf -H 'content-type: application/json' -d @"$model/request.json" "http://127.0.0.1:$port/v2/models/iris/infer")" \
  || { podman logs "$name" >&2; fail "inference failed"; }
echo "   POST /v2/models/iris/infer: ${answer:0:160}..."
python3 - "$model/expected.json" "$answer" <<'EOF'
import json, sys
expected = json.load(open(sys.argv[1]))["outputs"][0]
got = next(o for o in json.loads(sys.argv[2])["outputs"] if o["name"] == expected["name"])
assert got["data"] == expected["data"], (got["data"], expected["data"])
print(f"   {expected['name']} matches expected.json ({len(got['data'])} values)")
EOF
echo "   log (no colour codes: stderr is not a terminal):"
podman logs "$name" 2>&1 | head -5 | sed 's/^/     /'
