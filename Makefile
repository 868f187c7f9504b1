GO ?= go
BIN := bin/pgadvisor
# Test artefacts (the HTML report's screenshot from headless Chromium) land here.
export PGADVISOR_ARTIFACTS ?= $(CURDIR)/bin/artifacts

.PHONY: all build demo test deps vet bench bench-advice clean

all: build

deps:
	@scripts/deps.sh

build:
	$(GO) build -o $(BIN) ./cmd/pgadvisor

demo: deps build
	$(BIN) demo

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

test: deps vet
	$(GO) test -count=1 -timeout 30m ./...

bench: deps
	$(GO) test -run '^$$' -bench . -benchtime 2s ./sqlfacts ./explain

# The advice benchmark (issue 10): pgadvisor's index set against an expert's on
# the three fixtures, on a throwaway PostgreSQL (~5 minutes on 2 cores). Flags:
# make bench-advice BENCH_ADVICE_FLAGS='-rounds 7 -statements 10 -strict'
bench-advice: deps
	$(GO) run ./cmd/bench-advice $(BENCH_ADVICE_FLAGS)

clean:
	rm -rf bin
