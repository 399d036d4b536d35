# oktasync — see README.md. Every target installs what it needs.
SHELL := /bin/bash
GO    ?= go
BIN   := bin
PKGS  := ./...

.PHONY: all build test vet lint unit integration demo bench bench-smoke neo4j-start neo4j-stop clean compat compat-venv compat-run fuzz soak
.PHONY: search-start search-stop search-launcher

COMPAT := compat/amundsen
# The harness's pytest (needs NEO4J_TEST_URI). Not a recursive make, so that
# `make -n test` stays a dry run instead of starting Neo4j.
COMPAT_PYTEST := cd $(COMPAT) && .venv/bin/python -m pytest

# The search server (OpenSearch 2.19.6, embedded: scripts/search). with_search
# runs the shell text $(1) under scripts/with-search, a fresh private server
# with SEARCH_TEST_URL exported, or as it is if SEARCH_TEST_URL is already set;
# shq quotes $(1) for bash -c. Like with-neo4j, it is a command in the recipe,
# so `make -n` only prints it.
shq = '$(subst ','\'',$(1))'
with_search = if [[ -n "$${SEARCH_TEST_URL:-}" ]]; then bash -c $(call shq,$(1)); \
	else scripts/with-search bash -c $(call shq,$(1)); fi

all: build

# build stamps `oktasync version` with the checkout: VERSION is git describe
# (a tag, else the short commit; -dirty with uncommitted changes), COMMIT the
# full commit, DATE the commit's time in UTC (so a rebuild of the same commit
# gives the same binary). The Dockerfile takes the same three build args.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
DATE    ?= $(shell TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/oktasync ./cmd/oktasync
	$(GO) build -trimpath -o $(BIN)/oktasim ./cmd/oktasim
	@v="$$($(BIN)/oktasync version)"; echo "$$v"; [[ "$$v" != "oktasync dev" ]] || { echo "build: $(BIN)/oktasync is not stamped with a version" >&2; exit 1; }

# vet: gofmt's list is kept in a variable and printed, not tee'd to
# /dev/stderr (which truncates a log file that stderr is redirected to).
vet:
	@unformatted="$$(gofmt -l .)"; if [[ -n "$$unformatted" ]]; then \
		echo "$$unformatted" >&2; echo "gofmt: files above need formatting" >&2; exit 1; fi
	$(GO) vet $(PKGS)

# test is what CI runs: vet, then every Go test with the race detector,
# including the integration tests against a private, fresh Neo4j 5.26.
# Packages run one at a time (-p 1) because they share that server.
# Then, on the same server, the Amundsen compatibility harness (compat-run,
# without the sign-in harness, which runs on 4.4) and the benchmark
# harness's smoke run (bench-smoke); they run even when Go tests fail, and
# any failing fails the target. Beside it, started first and awaited
# last, test-neo4j-versions' lanes: the same graph tests on Neo4j 4.4 and
# 3.5, each on its own server.
# All of it runs inside one scripts/with-search: a fresh private OpenSearch
# (SEARCH_TEST_PORT, default 9251) shared by every Go test and pytest through
# SEARCH_TEST_URL (internal/searchtest gives each test its own alias).
# search-launcher builds the server's launcher beforehand (cached, a no-op
# once built), so its first start in CI is only the start.
# lint checks our conventions (CONTRIBUTING.md) with oktalint, a go vet tool
# in its own module (tools/lint) so that its dependencies stay out of go.mod.
lint:
	cd tools/lint && $(GO) test -count=1 ./... && $(GO) build -o ../../$(BIN)/oktalint .
	$(GO) vet -vettool=$(BIN)/oktalint -errcheck.exclude=$(CURDIR)/tools/lint/errcheck_excludes.txt $(PKGS)

TEST_STAGES = rc=0; $(VERSION_START); \
	NEO4J_VERSION=5.26 scripts/with-neo4j bash -c 'rc=0; scripts/gotest -race -count=1 -p 1 -timeout 20m $(PKGS) || rc=$$?; \
		($(COMPAT_PYTEST) $(COMPAT_ARGS_5.26)) || rc=1; \
		$(BENCH_SMOKE) || rc=1; exit $$rc' || rc=1; \
	$(VERSION_WAIT); exit $$rc
test: test-prep
	scripts/with-search bash -c $(call shq,$(TEST_STAGES))

# test-prep is test's preparation, in lanes side by side (make -j5): the Go
# lane compiles and checks (vet, lint, build, fuzz, deploytest: one after
# another, so that two builds never compile the same packages at once on a
# cold cache), while the others mostly wait on the network and the disk: the
# tools modules' downloads, each harness virtualenv, and Maven (the search server's launcher, then the
# jars of every Neo4j version test runs: one at a time, Maven's local
# repository is not safe for concurrent writers). A lane stops at its first
# failure; test-prep fails, after the other lanes end, if any lane failed,
# and then no test runs. Each target's output is printed whole (--output-sync)
# when it ends.
TEST_PREP_GO := vet lint build fuzz deploytest
lane = for t in $(1); do $(MAKE) --no-print-directory $$t || exit $$?; done
.PHONY: test-prep test-prep-go test-prep-maven go-mod-download neo4j-prepare compat-venv-main compat-venv-signin
test-prep:
	$(MAKE) --no-print-directory -j5 --output-sync=target test-prep-go go-mod-download compat-venv-main compat-venv-signin test-prep-maven
# go-mod-download fetches the tools modules' dependencies (Helm, Kubernetes,
# x/tools) while the Go lane compiles the main module; go's module cache is
# safe for concurrent use.
go-mod-download:
	cd tools/deploytest && $(GO) mod download
	cd tools/lint && $(GO) mod download
test-prep-go:
	+@$(call lane,$(TEST_PREP_GO))
test-prep-maven:
	+@$(call lane,search-launcher neo4j-prepare)

# neo4j-prepare fetches what the first start of each Neo4j version test runs
# needs (jars; Java 11 and the launcher for 3.5), so that no server start
# waits for Maven.
neo4j-prepare:
	@set -e; for v in 5.26 $(NEO4J_VERSIONS); do NEO4J_VERSION=$$v scripts/neo4j prepare; done

# test-neo4j-versions runs, on each of NEO4J_VERSIONS (a fresh private
# server each), every test that talks to Neo4j: the integration tests of
# the graph packages and the CLI's fault, kill and interruption tests, then
# the Amundsen harness with databuilder and the metadata service unpatched
# (the sign-in harness on 4.4 only). Without the race detector: it ran on
# 5.26 over the same code; these runs are about the server.
NEO4J_VERSIONS   ?= 4.4 3.5
VERSION_PKGS     := ./internal/neo4jtest/ ./publisher/neo4j/ ./jobs/ ./cmd/oktasync/
VERSION_RUN      := Integration|^TestCLI|^TestSecretCanaries
# 3.5 has no transaction memory limit: the test of batches split for
# want of it cannot run there; nor can the test that watches a link wait
# on another writer's lock, since 3.5 Community cannot list transactions.
# Both skip themselves there; CI would count those skips.
VERSION_SKIP_3.5 := ^(TestBatchTooLargeForTransactionMemoryIsSplitIntegration|TestLinkWaitsForAnotherWritersPairIntegration)$$
COMPAT_ARGS_5.26 := --ignore=signin
COMPAT_ARGS_3.5  := --ignore=signin --ignore=test_harness_publish.py --ignore=test_people_search.py
COMPAT_ARGS_4.4  := --ignore=test_harness_publish.py --ignore=test_people_search.py
# The versions run one after another, each on its own server and port,
# its output kept apart and printed when all are done; in test, the whole
# lane runs beside the 5.26 stage (VERSION_START before it, VERSION_WAIT
# after it). Two lanes at once, not three: with every version side by side
# the 2-core machine slowed the 5.26 stage, the longest, by more than the
# others took.
VERSION_LOOP = $(VERSION_START); $(VERSION_WAIT)
VERSION_START = pids=""; ( i=0; vrc=0; for v in $(NEO4J_VERSIONS); do i=$$((i+1)); \
		NEO4J_VERSION=$$v NEO4J_TEST_PORT=$$((7697+10*i)) GOTEST_LOG=$(CURDIR)/.test-$$v.log scripts/with-neo4j bash -c 'rc=0; skip="^$$"; \
			case $$NEO4J_VERSION in 4.4) a="$(COMPAT_ARGS_4.4)";; 3.5) a="$(COMPAT_ARGS_3.5)"; skip="$(VERSION_SKIP_3.5)";; *) a="$(COMPAT_ARGS_5.26)";; esac; \
			scripts/gotest -count=1 -p 1 -timeout 20m -run "$(VERSION_RUN)" -skip "$$skip" $(VERSION_PKGS) || rc=$$?; \
			($(COMPAT_PYTEST) $$a) || rc=1; exit $$rc' >$(CURDIR)/.test-neo4j-$$v.out 2>&1 || vrc=1; \
	done; exit $$vrc ) & pids="$$!"
VERSION_WAIT = for p in $$pids; do wait $$p || rc=1; done; \
	for v in $(NEO4J_VERSIONS); do echo "=== Neo4j $$v ==="; cat $(CURDIR)/.test-neo4j-$$v.out; done
.PHONY: test-neo4j-versions
test-neo4j-versions: build compat-venv search-launcher
	$(call with_search,rc=0; $(VERSION_LOOP); exit $$rc)

# deploytest renders the Helm chart (deploy/helm/oktasync) with Helm's own
# engine for its defaults and every examples/*.yaml, lints it (--strict) and
# checks its values schema; builds the Kustomize overlays (deploy/kubernetes)
# with kustomize; decodes every object strictly into the Kubernetes API types
# and checks the same invariants on both, including `oktasync check-config`
# on each rendered config file. Its own module (tools/deploytest) keeps Helm
# and kustomize out of go.mod. From an empty Go build cache (as in CI) it
# costs about 3.5 CPU-minutes (4.5 minutes on the loaded 2-core machine);
# warm, about 15 s. In test-prep it runs last in the Go lane: oktasync is
# compiled by then (make build) and its modules downloaded (go-mod-download).
.PHONY: deploytest
deploytest:
	cd tools/deploytest && $(GO) vet ./... && $(GO) test -count=1 ./...

# compat: the Amundsen compatibility harness (compat/amundsen): Amundsen's own
# metadata service and databuilder, pinned in compat/amundsen/requirements.txt,
# against what oktasync writes. Uses $NEO4J_TEST_URI if set (a server it may
# wipe), else starts a private fresh Neo4j like `make test`; the same for
# the search server with $SEARCH_TEST_URL (with_search).
compat: build compat-venv search-launcher
	$(call with_search,if [[ -n "$${NEO4J_TEST_URI:-}" ]]; then $(COMPAT_PYTEST); else scripts/with-neo4j bash -c '$(COMPAT_PYTEST)'; fi)

# compat-venv creates or refreshes compat/amundsen/.venv (cached; rebuilt when the pins change),
# and compat/amundsen/signin/.venv, the sign-in harness's Amundsen frontend with flaskoidc.
compat-venv: compat-venv-main compat-venv-signin
compat-venv-main:
	$(COMPAT)/ensure-venv
compat-venv-signin:
	$(COMPAT)/ensure-venv signin

# compat-run: the harness's pytest against $NEO4J_TEST_URI; fails (never skips) if it is unset.
# SEARCH_TEST_URL, if unset, comes from a private scripts/with-search.
compat-run: build compat-venv search-launcher
	$(call with_search,$(COMPAT_PYTEST))

# fuzz runs each fuzz target for FUZZTIME (CI: the default, a few seconds
# each, after the seed corpora in testdata/fuzz/ ran as plain tests). A
# crasher is written to testdata/fuzz/FuzzXxx/ and fails the target: commit
# it, and it stays a regression test. Add targets as package:FuzzName.
FUZZTIME ?= 4s
FUZZ_TARGETS := ./extractor/okta:FuzzHookDelivery ./extractor/okta:FuzzTransform ./cmd/oktasync:FuzzConfigFile ./publisher/csv:FuzzCSVWriter
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz: $${t#*:} in $${t%%:*} for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) "$${t%%:*}"; \
	done

# soak is what is too slow for CI: the fault and abuse tests at
# SOAK_SCALE times the load (more users, pages, hook requests and slow
# connections), each repeated SOAK_COUNT times, then every fuzz target for
# SOAK_FUZZTIME. It starts its own Neo4j, like make test, and prints what it ran.
SOAK_SCALE    ?= 10
SOAK_COUNT    ?= 3
SOAK_FUZZTIME ?= 60s
SOAK_TESTS    := ^(TestOktaFaults|TestCLIOktaFaultsDeactivateNobody|TestServeHookAbuse|TestSecretCanaries|TestCLINeo4jKilledMidPublish|TestCLIInterruptedRunsStopCleanly|TestCLIFullSyncRacesHookBurst|TestBatchTooLargeForTransactionMemoryIsSplitIntegration|TestInterruptedCommitIsCountedIntegration)$$
soak: build
	@echo "soak: $(SOAK_TESTS) x$(SOAK_COUNT) at scale $(SOAK_SCALE) (-race), then fuzz targets $(FUZZ_TARGETS) for $(SOAK_FUZZTIME) each"
	OKTASYNC_SOAK_SCALE=$(SOAK_SCALE) scripts/with-neo4j scripts/gotest -race -count=$(SOAK_COUNT) -p 1 -timeout 120m \
		-run '$(SOAK_TESTS)' ./extractor/okta/ ./publisher/neo4j/ ./cmd/oktasync/
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(SOAK_FUZZTIME)
	@echo "soak: done: $(SOAK_TESTS) x$(SOAK_COUNT) at scale $(SOAK_SCALE); fuzzed $(FUZZ_TARGETS) for $(SOAK_FUZZTIME) each"

# unit runs only what needs no Neo4j (integration tests skip outside CI).
unit:
	$(GO) test -race -count=1 $(PKGS)

demo: build
	scripts/demo

# bench runs the benchmark scenarios (bench/, see BENCHMARKS.md) against a
# fresh private Neo4j and the simulator, oktasync as the real binary in its
# own process; it rewrites BENCHMARKS.md's table and keeps the raw JSON in
# bench/results/. SCENARIOS and USERS select (USERS: comma-separated org
# sizes); LARGE=1 adds the 1M-user S1/S2; BASE=path/to/older/oktasync runs
# S1/S2 A-B-A against it (REPEATS=2: A-B-A-B-A). Not a test: nothing asserts a speed.
# S8 (people search) also needs a search server: with S8 in SCENARIOS the run
# is wrapped in scripts/with-search, a fresh private OpenSearch on
# SEARCH_TEST_PORT (default 9251) with a BENCH_SEARCH_HEAP heap.
SCENARIOS ?= S1,S2,S5
USERS     ?=
BENCH_SEARCH_HEAP ?= 512m
BENCH_S8    = $(findstring S8,$(SCENARIOS))
BENCH_FLAGS = --scenarios '$(SCENARIOS)' $(if $(USERS),--users '$(USERS)') $(if $(REPEATS),--repeats $(REPEATS)) $(if $(LARGE),--large) $(if $(BASE),--base '$(BASE)')
bench: build compat-venv $(if $(BENCH_S8),search-launcher)
	$(if $(BENCH_S8),SEARCH_HEAP=$(BENCH_SEARCH_HEAP) scripts/with-search )scripts/with-neo4j $(GO) run ./bench $(BENCH_FLAGS) --command "make bench SCENARIOS=$(SCENARIOS)$(if $(USERS), USERS=$(USERS))$(if $(REPEATS), REPEATS=$(REPEATS))$(if $(LARGE), LARGE=1)$(if $(BASE), BASE=$(BASE))"

# bench-smoke: the harness on a small org against $NEO4J_TEST_URI (make test
# runs it on its server): every scenario's graph is checked; nothing is timed
# or recorded.
BENCH_SMOKE := $(GO) run ./bench --smoke --scenarios S1,S2,S3,S5,S6,S7,S9 --users 3000
bench-smoke: build compat-venv
	$(BENCH_SMOKE)

neo4j-start:
	scripts/neo4j start

neo4j-stop:
	scripts/neo4j stop

# The search server for local use: OpenSearch 2.19.6 on http://127.0.0.1:9250
# (SEARCH_PORT, SEARCH_DATA_DIR, SEARCH_HEAP: see scripts/search).
search-start:
	scripts/search start

search-stop:
	scripts/search stop

# search-launcher builds tools/search-launcher and resolves its jars once
# (cached; checks two files' hash when built), ahead of any server start.
search-launcher:
	scripts/search build

clean:
	rm -rf $(BIN) .test.log
