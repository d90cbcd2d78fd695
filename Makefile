# rdma CNI plugin. `make` builds build/rdma; `make test` runs the host tests; `make e2e` the
# real-kernel tests in the VM; `make demo` the demo in the VM.
BUN        := node_modules/.bin/bun
TSC        := node_modules/.bin/tsc
BIOME      := node_modules/.bin/biome
# dependency-cruiser needs node 22 or later; bun runs it (and reports a node version it accepts).
DEPCRUISE  := $(BUN) node_modules/.bin/depcruise
VERSION    := $(shell node -p "require('./package.json').version")
COMMIT     := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
BUILD_DATE := $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
SOURCES    := $(shell find src -name '*.ts')
# The executable's entry points: the program, and the engine's worker thread (src/engine/pool.ts).
ENTRY_POINTS := src/main.ts src/engine/worker.ts
# Flags of every `bun build --compile` of the plugin (here and in deployment/image.mk). --bytecode
# ships JavaScriptCore bytecode in the executable, so a one-shot call does not parse the bundle at
# start (docs/bench.md); it needs an entry point without top-level await (src/main.ts). Without
# the two --no-compile-autoload flags the executable reads .env and bunfig.toml from the
# directory it is started in (the container runtime's): settings, even code to preload, that
# no one meant for the plugin, and two lookups per call.
BUN_BUILD_FLAGS := --compile --minify --bytecode --no-compile-autoload-dotenv --no-compile-autoload-bunfig
DEFINES    := --define RDMA_CNI_VERSION='"$(VERSION)"' --define RDMA_CNI_COMMIT='"$(COMMIT)"' --define RDMA_CNI_BUILD_DATE='"$(BUILD_DATE)"'

.PHONY: all build build-test test tests test-all lint e2e demo clean

all: build

build: build/rdma

$(BUN):
	npm ci

build/rdma: $(SOURCES) package.json Makefile | $(BUN)
	@mkdir -p build
	$(BUN) build $(BUN_BUILD_FLAGS) $(DEFINES) --define RDMA_CNI_TEST_HOOKS=false $(ENTRY_POINTS) --outfile build/rdma

# The same executable with kill points enabled (src/plugin/killpoints.ts), for crash tests only.
build/rdma-test: $(SOURCES) package.json Makefile | $(BUN)
	@mkdir -p build
	$(BUN) build $(BUN_BUILD_FLAGS) $(DEFINES) --define RDMA_CNI_TEST_HOOKS=true $(ENTRY_POINTS) --outfile build/rdma-test

build-test: build/rdma-test

# The CRI client of the containerd boot's tests (test/cri), run in the test VM.
build/cri-client: $(wildcard test/cri/*.ts) package.json Makefile | $(BUN)
	@mkdir -p build
	$(BUN) build $(BUN_BUILD_FLAGS) test/cri/main.ts --outfile build/cri-client

# Host tests: unit tests, tests in real network namespaces (root), and build/rdma run as a process.
test: build
	test/run-host-tests

tests: test

# What CI runs: lint, host tests and the VM end-to-end tests, summed into one line.
test-all: build
	test/run-all

# Types, lint, the layer rules of src/ (.dependency-cruiser.cjs: an upward import fails), links.
lint: | $(BUN)
	$(TSC) -p .
	$(BIOME) lint src test
	$(DEPCRUISE) --config .dependency-cruiser.cjs src
	$(BUN) test/lint/check-links.ts README.md CHANGELOG.md docs/*.md

e2e: build build-test
	test/vm/e2e

demo: build
	test/vm/demo

clean:
	rm -rf build
include deployment/image.mk
include bench/bench.mk
include test/vm/arm64.mk
e2e test-all: build/rdma-shim build/cri-client
