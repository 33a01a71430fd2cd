# syntax=docker/dockerfile:1.7
#
# One image per LiveStreamer service, all from this file:
#
#   docker build -f docker/rust.Dockerfile --build-arg SERVICE=gateway -t ghcr.io/livestreamer/gateway .
#
# SERVICE is one of: gateway auth chat broadcasts-archive stream-relay mailer.
#
# Stages:
#   chef     rust toolchain + the native build deps + cargo-chef
#   planner  computes recipe.json (the dependency graph of the workspace, no sources)
#   builder  cooks (builds) the dependencies from recipe.json: this layer is reused until
#            a Cargo.toml or Cargo.lock changes; then builds all six service binaries.
#            It does not depend on SERVICE, so building the six images (compose, CI)
#            compiles the workspace once and shares the result.
#   pick     copies the selected binary (and nothing else) into /rootfs
#   runtime  debian:bookworm-slim, non-root, migrations, health check
#
# The build context is the repository root (see .dockerignore).

ARG RUST_VERSION=1
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS chef
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# cpal (the CLI) needs ALSA headers; everything else is pure Rust (rustls, protox).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libasound2-dev=1.2.8-* \
        pkg-config=1.8.1-* \
    && rm -rf /var/lib/apt/lists/*
ARG CARGO_CHEF_VERSION=0.1.77
RUN cargo install cargo-chef --locked --version "${CARGO_CHEF_VERSION}" \
    && rm -rf "${CARGO_HOME:-/usr/local/cargo}/registry"
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
ENV CARGO_TERM_COLOR=never
COPY --from=planner /src/recipe.json recipe.json
# (cook has no --locked: it builds exactly the Cargo.lock captured in recipe.json.)
RUN cargo chef cook --release --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked \
        --bin gateway \
        --bin auth \
        --bin chat \
        --bin broadcasts-archive \
        --bin stream-relay \
        --bin mailer

FROM builder AS pick
ARG SERVICE=gateway
RUN case "${SERVICE}" in \
        gateway|auth|chat|broadcasts-archive|stream-relay|mailer) ;; \
        *) echo "unknown SERVICE '${SERVICE}'" >&2; exit 1 ;; \
    esac \
    && install -D -m 0755 "target/release/${SERVICE}" "/rootfs/usr/local/bin/${SERVICE}" \
    && ln -s "${SERVICE}" /rootfs/usr/local/bin/livestreamer-service

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
ARG SERVICE=gateway
LABEL org.opencontainers.image.title="livestreamer-${SERVICE}"
# A fixed numeric uid/gid so Kubernetes can verify runAsNonRoot.
RUN groupadd --system --gid 10001 livestreamer \
    && useradd --system --uid 10001 --gid livestreamer --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin livestreamer \
    && mkdir -p /var/lib/livestreamer/recordings \
    && chown -R 10001:10001 /var/lib/livestreamer
# rustls may use the system roots (rustls-native-certs): take the bundle from the builder
# instead of installing ca-certificates with apt.
COPY --from=builder /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
WORKDIR /app
# Each service applies its own migrations at start; they are compiled into the binary.
COPY --chmod=0755 docker/healthcheck.sh /usr/local/bin/healthcheck
COPY --from=pick /rootfs/ /
ENV SERVICE=${SERVICE} \
    RELAY_RECORDINGS_DIR=/var/lib/livestreamer/recordings \
    RUST_LOG=info
# gateway 8100, auth 8110, chat 8120, broadcasts-archive 8130,
# stream-relay 8140 (HTTP) + 8141 (Icecast source), mailer 8150 (health only).
# Each service still needs <PREFIX>_LISTEN=0.0.0.0:<port> (compose and k8s set it).
EXPOSE 8100 8110 8120 8130 8140 8141 8150
USER 10001:10001
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/usr/local/bin/healthcheck", "/healthz"]
ENTRYPOINT ["/usr/local/bin/livestreamer-service"]
