# Container image and the Linux amd64/arm64 executables. Included by the Makefile.
#   make image                  the amd64 and arm64 images and the OCI image index naming both, as $(IMAGE)
#                               (IMAGE_PLATFORMS to change the list), with buildah or podman
#   make image-arch             one image, for this machine's architecture (IMAGE_ARCH=arm64 for the other)
#   make image-rootfs           the image's root filesystem as a directory and a tarball, no container tool needed
#   make image-multistage       the multi-stage Dockerfile (needs a registry for its base images)
#   make build/rdma-linux-amd64 build/rdma-linux-arm64
#   make build/rdma-shim-linux-amd64 build/rdma-shim-linux-arm64   the static shim, cross-built
# The image reference lives in one place, the DaemonSet's `image: &image ...` line (the other
# container's `image: *image` is a YAML alias of it).
IMAGE        ?= $(shell sed -n 's/^ *image: *&[A-Za-z0-9_-]* *//p' deployment/rdma-cni-daemonset.yaml | head -n 1)
BUN_VERSION  := $(shell node -p "require('./package.json').devDependencies.bun")
HOST_ARCH    := $(shell uname -m | sed -e s/x86_64/amd64/ -e s/aarch64/arm64/)
IMAGE_ARCH   ?= $(HOST_ARCH)
IMAGE_PLATFORMS ?= amd64 arm64
RUNTIMES     := .cache/bun-runtimes
# Where rootfs.sh takes the loader and libc from: this machine's for its own architecture,
# Debian's libc6 package unpacked for the other one.
SYSROOT      ?= $(if $(filter $(IMAGE_ARCH),$(HOST_ARCH)),/,.cache/sysroot-$(IMAGE_ARCH))
# The first of docker, podman, buildah that is installed and answers (a docker client without
# an engine does not).
CONTAINER_TOOL ?= $(shell for t in docker podman buildah; do command -v $$t >/dev/null 2>&1 && $$t info >/dev/null 2>&1 && { echo $$t; break; }; done)

# The shim the image ships as /rdma-shim: build/rdma-shim (bench/bench.mk) for this machine's
# architecture; for the other one, a static cross build by Debian's cross compiler
# (gcc-aarch64-linux-gnu and libc6-dev-arm64-cross, or gcc-x86-64-linux-gnu and libc6-dev-amd64-cross).
SHIM_TRIPLET_amd64 := x86_64-linux-gnu
SHIM_TRIPLET_arm64 := aarch64-linux-gnu
IMAGE_SHIM   ?= $(if $(filter $(IMAGE_ARCH),$(HOST_ARCH)),build/rdma-shim,build/rdma-shim-linux-$(IMAGE_ARCH))

.PHONY: image image-arch image-rootfs image-multistage cross

cross: build/rdma-linux-amd64 build/rdma-linux-arm64

# bun cross-compiles with the runtime of the target taken from the npm registry (the
# @oven/bun-linux-* package at the pinned version), never from a download of its own.
$(RUNTIMES)/%-$(BUN_VERSION)/bin/bun:
	@mkdir -p $(RUNTIMES)
	npm pack --silent --pack-destination $(RUNTIMES) @oven/$*@$(BUN_VERSION)
	@mkdir -p $(RUNTIMES)/$*-$(BUN_VERSION)
	tar xzf $(RUNTIMES)/oven-$*-$(BUN_VERSION).tgz -C $(RUNTIMES)/$*-$(BUN_VERSION) --strip-components=1
	@rm -f $(RUNTIMES)/oven-$*-$(BUN_VERSION).tgz

build/rdma-linux-amd64: $(SOURCES) package.json $(RUNTIMES)/bun-linux-x64-$(BUN_VERSION)/bin/bun | $(BUN)
	@mkdir -p build
	$(BUN) build $(BUN_BUILD_FLAGS) $(DEFINES) --define RDMA_CNI_TEST_HOOKS=false --target=bun-linux-x64 --compile-executable-path=$(RUNTIMES)/bun-linux-x64-$(BUN_VERSION)/bin/bun $(ENTRY_POINTS) --outfile $@

build/rdma-linux-arm64: $(SOURCES) package.json $(RUNTIMES)/bun-linux-aarch64-$(BUN_VERSION)/bin/bun | $(BUN)
	@mkdir -p build
	$(BUN) build $(BUN_BUILD_FLAGS) $(DEFINES) --define RDMA_CNI_TEST_HOOKS=false --target=bun-linux-arm64 --compile-executable-path=$(RUNTIMES)/bun-linux-aarch64-$(BUN_VERSION)/bin/bun $(ENTRY_POINTS) --outfile $@

build/rdma-shim-linux-%: shim/rdma-shim.c deployment/image.mk
	@command -v $(SHIM_TRIPLET_$*)-gcc >/dev/null || { echo "$@: $(SHIM_TRIPLET_$*)-gcc is not installed (Debian: gcc-$(subst _,-,$(SHIM_TRIPLET_$*)) and libc6-dev-$*-cross)" >&2; exit 1; }
	@mkdir -p build
	$(SHIM_TRIPLET_$*)-gcc -static -Os -s -Wall -Wextra -Werror -o $@ shim/rdma-shim.c

.cache/sysroot-%:
	deployment/fetch-libc.sh $* $@

# The root filesystem: /rdma, its loader and libraries, /rdma-shim, empty mount points; nothing else.
build/image/rootfs-$(IMAGE_ARCH): build/rdma-linux-$(IMAGE_ARCH) $(IMAGE_SHIM) deployment/rootfs.sh $(filter .cache/%,$(SYSROOT))
	deployment/rootfs.sh build/rdma-linux-$(IMAGE_ARCH) $(IMAGE_SHIM) $@ $(SYSROOT)

# Reproducible: fixed owner, order and mtime.
build/image/rdma-cni-rootfs-$(IMAGE_ARCH).tar: build/image/rootfs-$(IMAGE_ARCH)
	tar --create --file $@ --directory $< --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 .

image-rootfs: build/image/rootfs-$(IMAGE_ARCH) build/image/rdma-cni-rootfs-$(IMAGE_ARCH).tar

# The multi-architecture image: one image per platform, FROM scratch (nothing of the other
# architecture runs while building), each tagged $(IMAGE)-<arch> and added to a manifest list
# named $(IMAGE), which is written as an OCI image index when pushed (docs/deploy.md). A list left
# by an earlier run is replaced.
# The root filesystems come from a make of their own, one per IMAGE_ARCH.
INDEX_TOOL ?= $(shell for t in buildah podman; do command -v $$t >/dev/null 2>&1 && $$t info >/dev/null 2>&1 && { echo $$t; break; }; done)
image:
	@test -n "$(INDEX_TOOL)" || { echo "make image: neither buildah nor podman is installed and working (try: apt-get install buildah); 'make image-arch' builds one architecture with docker too" >&2; exit 1; }
	@for a in $(IMAGE_PLATFORMS); do $(MAKE) --no-print-directory build/image/rootfs-$$a IMAGE_ARCH=$$a || exit 1; done
	-@$(INDEX_TOOL) manifest rm $(IMAGE) >/dev/null 2>&1
	$(INDEX_TOOL) manifest create $(IMAGE)
	@for a in $(IMAGE_PLATFORMS); do \
		echo "$(INDEX_TOOL) build --platform linux/$$a --manifest $(IMAGE) -t $(IMAGE)-$$a build/image/rootfs-$$a"; \
		$(INDEX_TOOL) build --quiet --platform linux/$$a --build-arg VERSION=$(VERSION) -f deployment/Dockerfile.scratch --manifest $(IMAGE) -t $(IMAGE)-$$a build/image/rootfs-$$a || exit 1; \
	done
	$(INDEX_TOOL) manifest inspect $(IMAGE)

image-arch: build/image/rootfs-$(IMAGE_ARCH)
	@test -n "$(CONTAINER_TOOL)" || { echo "make image-arch: none of docker, podman, buildah is installed and working (try: apt-get install buildah); 'make image-rootfs' needs none" >&2; exit 1; }
	$(CONTAINER_TOOL) build --platform linux/$(IMAGE_ARCH) --build-arg VERSION=$(VERSION) -f deployment/Dockerfile.scratch -t $(IMAGE) build/image/rootfs-$(IMAGE_ARCH)

image-multistage:
	@test -n "$(CONTAINER_TOOL)" || { echo "make image-multistage: none of docker, podman, buildah is installed and working" >&2; exit 1; }
	$(CONTAINER_TOOL) build --platform linux/$(IMAGE_ARCH) -f Dockerfile -t $(IMAGE) .
