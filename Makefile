# Sanlian — two commands: `make run` and `make test`. Every target that needs system packages
# depends on `deps`, which installs whatever is missing with apt-get and does nothing otherwise.
SHELL := /bin/bash
.DEFAULT_GOAL := help

SWIFT ?= swift
# Debian 12 packages the build, the generator and the tests need.
# python3-protobuf: the tests hold the generated JSON mapping to protobuf's own (json_format).
APT_PACKAGES := libprotobuf-c-dev protobuf-c-compiler protobuf-compiler libprotobuf-dev pkg-config libsqlite3-dev \
	python3 python3-protobuf
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
COMPOSE ?= compose/township.yaml
STATE_DIR ?= var
# Generated trees compared by check-generated (module.modulemap in CProtoDescriptor is hand-written).
GENERATED_DIRS := Sources/CSanlianProto Sources/CProtoDescriptor Sources/SanlianWire/Generated \
	Sources/SanlianContracts/Generated Tests/SanlianWireTests/Generated \
	Sources/CPatrolProto Sources/PatrolContract/Generated Sources/CHazardsProto Sources/HazardsContract/Generated \
	Sources/CResidentsProto Sources/ResidentsContract/Generated

.PHONY: help deps build test proto check-generated lint format run demo bench bench-tools bench-floors fuzz symbol-order clean

# Hand-written Swift (generated files follow the generator, not the formatter).
SWIFT_SOURCES = $$(git ls-files 'Sources/*.swift' 'Tests/*.swift' 'Benchmarks/*.swift' | grep -v /Generated/)

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

deps: ## Install missing system packages (apt-get; through sudo when not root)
	@missing=""; \
	for package in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' "$$package" 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "deps: installing$$missing"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps ## Build every target
	$(SWIFT) build

test: deps check-generated lint ## Check generated code and formatting, build, run every test (unit and integration)
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --parallel

proto: deps ## Regenerate the C and Swift code derived from proto/
	$(SWIFT) build --product sanlian-protogen
	PROTOGEN="$$($(SWIFT) build --show-bin-path)/sanlian-protogen" scripts/generate.sh

check-generated: deps ## Fail when generated code does not match proto/
	@$(SWIFT) build --product sanlian-protogen >/dev/null
	@tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; \
	PROTOGEN="$$($(SWIFT) build --show-bin-path)/sanlian-protogen" scripts/generate.sh "$$tmp"; \
	status=0; \
	for dir in $(GENERATED_DIRS); do \
		diff -r --exclude=module.modulemap "$$dir" "$$tmp/$$dir" || status=1; \
	done; \
	if [ $$status -ne 0 ]; then echo "check-generated: generated code is stale; run 'make proto' and commit"; exit 1; fi; \
	echo "check-generated: generated code matches proto/"

lint: ## Check formatting of hand-written Swift (swift format, .swift-format)
	$(SWIFT) format lint --strict $(SWIFT_SOURCES)

format: ## Format hand-written Swift in place
	$(SWIFT) format --in-place $(SWIFT_SOURCES)

# The products `make run` starts, and the CLI to talk to them: not the benchmark tools.
RUN_PRODUCTS := sanlian-broker sanlian-patrol sanlian-hazards sanlian-residents sanlian-station sanlian

run: deps ## Build what runs and start the whole township with `sanlian up` on $(COMPOSE), state under ./$(STATE_DIR)
	@for product in $(RUN_PRODUCTS); do $(SWIFT) build --product $$product || exit 1; done
	@echo "From another terminal: $$($(SWIFT) build --show-bin-path)/sanlian status   (README: more to try). Ctrl-C stops the township."
	"$$($(SWIFT) build --show-bin-path)/sanlian" up -f $(COMPOSE) --dir $(STATE_DIR)

demo: deps ## A scripted township day from the account, through the CLI against a township started for it
	@for product in $(RUN_PRODUCTS); do $(SWIFT) build --product $$product || exit 1; done
	scripts/demo.sh "$$($(SWIFT) build --show-bin-path)"

BENCH_C := .build/bench
# How a township is deployed: release, with the Swift runtime linked in (smaller, faster to start,
# less resident memory than loading the shared Swift and Foundation libraries), every function in
# a section of its own so that the linker can lay out the daemons' code in the order of
# bench/daemons.order (Package.swift, `daemonLinkerSettings`).
RELEASE_FLAGS := -c release --static-swift-stdlib -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections
RELEASE_BIN = "$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)"

bench-tools: deps ## Build what the benchmarks run: the release daemons, sanlian-bench and the C, SwiftNIO and epoll floors
	@mkdir -p $(BENCH_C)
	$(CC) -O2 -Wall -o $(BENCH_C)/echo_server bench/c/echo_server.c
	$(CC) -O2 -Wall -o $(BENCH_C)/relay bench/c/relay.c
	$(CC) -O2 -Wall -I Sources/CSanlianProto/include -o $(BENCH_C)/bench_client bench/c/bench_client.c \
		Sources/CSanlianProto/*.pb-c.c -lprotobuf-c
	$(SWIFT) build $(RELEASE_FLAGS) --product sanlian-broker
	$(SWIFT) build $(RELEASE_FLAGS) --product sanlian-echo
	$(SWIFT) build $(RELEASE_FLAGS) --product sanlian-patrol
	$(SWIFT) build $(RELEASE_FLAGS) --product sanlian-hazards
	$(SWIFT) build $(RELEASE_FLAGS) --product sanlian-residents
	$(SWIFT) build $(RELEASE_FLAGS) --product sanlian-station
	$(SWIFT) build $(RELEASE_FLAGS) --product sanlian
	$(SWIFT) build $(RELEASE_FLAGS) --product sanlian-bench
	$(SWIFT) build $(RELEASE_FLAGS) --product nio-floor
	$(SWIFT) build $(RELEASE_FLAGS) --product epoll-floor

bench: bench-tools ## Run the benchmarks: the C and SwiftNIO floors and the brokered path side by side (release build)
	$(RELEASE_BIN)/sanlian-bench --bin-dir $(RELEASE_BIN) \
		--c-dir $(BENCH_C) --compose compose/township.yaml --output bench-results.json

bench-floors: bench-tools ## Split Sanlian's sequential latency: the C floor, Swift on epoll, bare SwiftNIO and Sanlian, pinned alike
	BIN_DIR=$(RELEASE_BIN) bench/tools/floors.sh

fuzz: deps ## Fuzz the frame paths with libFuzzer and AddressSanitizer for FUZZ_SECONDS (default 300)
	Tests/FrameFuzzing/fuzz.sh

# valgrind and python3 only regenerate the order; building with it needs neither.
symbol-order: bench-tools ## Rewrite bench/daemons.order from a profile of the benchmark's workload (valgrind)
	@for tool in valgrind python3 objcopy; do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
		echo "symbol-order: installing valgrind python3 binutils"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends valgrind python3 binutils; \
	fi
	python3 bench/tools/symbol_order.py $(RELEASE_BIN) $(BENCH_C) bench/daemons.order
	@# SwiftPM does not know the linker reads the file: the daemons are linked again on next build.
	rm -f $(RELEASE_BIN)/sanlian-broker $(RELEASE_BIN)/sanlian-echo

clean: ## Remove build products and local state
	rm -rf .build $(STATE_DIR)
