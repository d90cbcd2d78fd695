# Included by the Makefile: the shim (the only C that ships) and the benchmark of issue 5.
SHIM_CC := $(shell command -v musl-gcc >/dev/null 2>&1 && echo musl-gcc || echo gcc)

.PHONY: bench bench-profile bench-oneshot shim

shim: build/rdma-shim

# Static, so it starts in about a millisecond and needs nothing from the host's libraries.
build/rdma-shim: shim/rdma-shim.c bench/bench.mk
	@mkdir -p build
	$(SHIM_CC) -static -Os -Wall -Wextra -Werror -o $@ shim/rdma-shim.c
	strip $@

# Boots the test VM once (about 10 minutes under TCG); prints the table, writes bench/results/.
bench: build build/rdma-shim
	bench/run

# Where a call's time goes, step by step, in the VM (bench/profile.ts; docs/bench.md shows a run).
bench-profile: build
	$(BUN) build $(BUN_BUILD_FLAGS) bench/profile.ts --outfile build/bench-profile
	mkdir -p build/bench/profile-payload
	test/vm/run --pci 0 --aux 1 build/bench/profile-payload -- sh -c 'ip netns add bseq && /mnt/build/bench-profile rdma_sim.sf.0 /var/run/netns/bseq 50'

# Where a one-shot call's time goes in the VM, against a baseline executable (docs/bench.md):
#   make bench-oneshot BENCH_ONESHOT_BASELINE=/path/to/old/rdma
bench-oneshot: build
	BUN_BUILD_FLAGS="$(BUN_BUILD_FLAGS)" bench/oneshot-profile $(BENCH_ONESHOT_BASELINE)
