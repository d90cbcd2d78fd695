# syntax=docker/dockerfile:1
# Multi-stage build, for a builder that reaches a registry (`make image-multistage`, or
# `docker buildx build --platform linux/amd64,linux/arm64 .`). The build stage runs on the
# builder's own platform and cross-compiles; the final stage is the executable, its loader and
# libc, and the static shim, as in `make image` (deployment/Dockerfile.scratch), which needs no
# registry.
FROM --platform=$BUILDPLATFORM node:22-bookworm AS build
ARG TARGETARCH
WORKDIR /src
# gcc and libc6-dev build the static shim for the builder's own architecture; for the other
# one, Debian's cross compiler and its static libc.
RUN apt-get update \
 && apt-get install -y --no-install-recommends binutils make gcc libc6-dev \
 && if [ "$TARGETARCH" != "$(dpkg --print-architecture)" ]; then \
      case "$TARGETARCH" in \
        amd64) apt-get install -y --no-install-recommends gcc-x86-64-linux-gnu libc6-dev-amd64-cross ;; \
        arm64) apt-get install -y --no-install-recommends gcc-aarch64-linux-gnu libc6-dev-arm64-cross ;; \
        *) echo "unsupported TARGETARCH $TARGETARCH" >&2; exit 1 ;; \
      esac; \
    fi \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci
COPY Makefile tsconfig.json ./
COPY bench/bench.mk ./bench/bench.mk
COPY shim ./shim
COPY src ./src
COPY deployment ./deployment
# The target's libc comes from Debian's package even for the builder's own architecture, so
# both architectures' images are assembled the same way.
RUN deployment/fetch-libc.sh "$TARGETARCH" /sysroot \
 && make image-rootfs IMAGE_ARCH="$TARGETARCH" SYSROOT=/sysroot

FROM scratch
ARG TARGETARCH
LABEL org.opencontainers.image.title="rdma-cni" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /src/build/image/rootfs-${TARGETARCH}/ /
ENTRYPOINT ["/rdma", "install"]
