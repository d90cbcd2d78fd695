# The arm64 executables the test bed's arm64 guest runs (test/vm/run --arch arm64), in a folder of
# their own that is shared into the guest as /mnt/build, under the names the e2e tests use:
#   build/arm64/rdma        build/rdma-linux-arm64 (deployment/image.mk)
#   build/arm64/rdma-test   the same with kill points (as build/rdma-test), for t-crash.sh
#   build/arm64/rdma-shim   build/rdma-shim-linux-arm64 (deployment/image.mk), for t-engine.sh
# Included by the Makefile after deployment/image.mk. Hard links, not copies (100 MB each):
# a symbolic link would point out of the 9p share.
.PHONY: build-arm64

# The shim's cross compiler is the one thing the host may lack: installed here as the test bed
# installs its packages (test/vm/lib.sh, tb_host_pkgs; root), so `make e2e` works on a fresh machine.
build-arm64:
	@command -v aarch64-linux-gnu-gcc >/dev/null || bash -c '. test/vm/lib.sh && tb_set_arch arm64 && tb_host_pkgs'
	@$(MAKE) --no-print-directory build/arm64/rdma build/arm64/rdma-test build/arm64/rdma-shim

build/arm64/rdma: build/rdma-linux-arm64
	@mkdir -p build/arm64
	ln -f $< $@

build/arm64/rdma-shim: build/rdma-shim-linux-arm64
	@mkdir -p build/arm64
	ln -f $< $@

build/arm64/rdma-test: $(SOURCES) package.json $(RUNTIMES)/bun-linux-aarch64-$(BUN_VERSION)/bin/bun | $(BUN)
	@mkdir -p build/arm64
	$(BUN) build $(BUN_BUILD_FLAGS) $(DEFINES) --define RDMA_CNI_TEST_HOOKS=true --target=bun-linux-arm64 --compile-executable-path=$(RUNTIMES)/bun-linux-aarch64-$(BUN_VERSION)/bin/bun $(ENTRY_POINTS) --outfile $@

e2e test-all: build-arm64
