# rdma CNI plugin. `make` builds build/rdma; `make test` runs the host tests; `make e2e` the
# real-kernel tests in the VM; `make demo` the demo in the VM.
BUN        := node_modules/.bin/bun
TSC        := node_modules/.bin/tsc
BIOME      := node_modules/.bin/biome
VERSION    := $(shell node -p "require('./package.json').version")
COMMIT     := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
BUILD_DATE := $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
SOURCES    := $(shell find src -name '*.ts')
DEFINES    := --define RDMA_CNI_VERSION='"$(VERSION)"' --define RDMA_CNI_COMMIT='"$(COMMIT)"' --define RDMA_CNI_BUILD_DATE='"$(BUILD_DATE)"'

.PHONY: all build build-test test tests test-all lint e2e demo clean

all: build

build: build/rdma

$(BUN):
	npm ci

build/rdma: $(SOURCES) package.json Makefile | $(BUN)
	@mkdir -p build
	$(BUN) build --compile --minify $(DEFINES) --define RDMA_CNI_TEST_HOOKS=false src/main.ts src/engine/worker.ts --outfile build/rdma

# The same executable with kill points enabled (src/plugin/killpoints.ts), for crash tests only.
build/rdma-test: $(SOURCES) package.json Makefile | $(BUN)
	@mkdir -p build
	$(BUN) build --compile --minify $(DEFINES) --define RDMA_CNI_TEST_HOOKS=true src/main.ts src/engine/worker.ts --outfile build/rdma-test

build-test: build/rdma-test

# Host tests: unit tests, tests in real network namespaces (root), and build/rdma run as a process.
test: build
	test/run-host-tests

tests: test

# What CI runs: lint, host tests and the VM end-to-end tests, summed into one line.
test-all: build
	test/run-all

lint: | $(BUN)
	$(TSC) -p .
	$(BIOME) lint src test

e2e: build build-test
	test/vm/e2e

demo: build
	test/vm/demo

clean:
	rm -rf build
include deployment/image.mk
include bench/bench.mk
e2e test-all: build/rdma-shim
