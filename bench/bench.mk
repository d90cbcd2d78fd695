# Included by the Makefile: the shim (the only C that ships) and the benchmark of issue 5.
SHIM_CC := $(shell command -v musl-gcc >/dev/null 2>&1 && echo musl-gcc || echo gcc)

.PHONY: bench shim

shim: build/rdma-shim

# Static, so it starts in about a millisecond and needs nothing from the host's libraries.
build/rdma-shim: shim/rdma-shim.c bench/bench.mk
	@mkdir -p build
	$(SHIM_CC) -static -Os -Wall -Wextra -Werror -o $@ shim/rdma-shim.c
	strip $@

# Boots the test VM once (about 10 minutes under TCG); prints the table, writes bench/results/.
bench: build build/rdma-shim
	bench/run
