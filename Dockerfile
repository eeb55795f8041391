# syntax=docker/dockerfile:1
# ironflow: a native server for MLflow models (KServe v2 protocol).
#
#   docker build -t ironflow .
#   docker run -p 8080:8080 -v "$PWD/examples/models/<case>:/mnt/models:ro" ironflow
#
# Stages: chef (toolchain + cargo-chef) -> planner (dependency recipe) -> builder (dependencies
# cooked in their own layer, then the binary) -> runtime (distroless cc, nonroot, no shell).
# scripts/check-dockerfile.sh runs the build stages' commands outside Docker and checks the
# runtime stage's invariants; keep the RUN lines simple enough for it to parse.

ARG RUST_IMAGE=rust:1.95-slim-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM ${RUST_IMAGE} AS chef
RUN cargo install cargo-chef --locked
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
# The `image` profile (Cargo.toml): fat LTO, one codegen unit, symbols stripped. Relative
# relocations packed (DT_RELR: glibc >= 2.36, as in Debian 12 and the runtime base below): the
# PIE's .rela.dyn shrinks to a bitmap. Sizes measured in README.md ("The image").
ENV CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C link-arg=-Wl,-z,pack-relative-relocs"
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --profile image --recipe-path recipe.json --bin ironflow
COPY . .
RUN cargo build --profile image --locked --bin ironflow

FROM ${RUNTIME_IMAGE} AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="ironflow" \
      org.opencontainers.image.description="Native server for MLflow models speaking the KServe v2 inference protocol (REST and gRPC)" \
      org.opencontainers.image.source="https://github.com/ironflow/ironflow" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=builder /src/target/image/ironflow /usr/local/bin/ironflow
# 65532 is distroless's nonroot user; numeric so Kubernetes can verify runAsNonRoot.
USER 65532:65532
# HTTP (REST), gRPC, Prometheus metrics.
EXPOSE 8080 8081 8082
ENTRYPOINT ["ironflow"]
CMD ["serve", "/mnt/models"]
