# oktasync — see README.md. Every target installs what it needs.
SHELL := /bin/bash
GO    ?= go
BIN   := bin
PKGS  := ./...

.PHONY: all build test vet unit integration demo bench neo4j-start neo4j-stop clean

all: build

build:
	$(GO) build -trimpath -o $(BIN)/oktasync ./cmd/oktasync
	$(GO) build -trimpath -o $(BIN)/oktasim ./cmd/oktasim

vet:
	@test -z "$$(gofmt -l . | tee /dev/stderr)" || (echo "gofmt: files above need formatting" >&2; exit 1)
	$(GO) vet $(PKGS)

# test is what CI runs: vet, then every Go test with the race detector,
# including the integration tests against a private, fresh Neo4j 5.26.
# Packages run one at a time (-p 1) because they share that server.
test: vet build
	scripts/with-neo4j scripts/gotest -race -count=1 -p 1 -timeout 20m $(PKGS)

# unit runs only what needs no Neo4j (integration tests skip outside CI).
unit:
	$(GO) test -race -count=1 $(PKGS)

demo: build
	scripts/demo

neo4j-start:
	scripts/neo4j start

neo4j-stop:
	scripts/neo4j stop

clean:
	rm -rf $(BIN) .test.log
