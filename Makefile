GO ?= go
BIN := bin/pgadvisor
# Test artefacts (the HTML report's screenshot from headless Chromium) land here.
export PGADVISOR_ARTIFACTS ?= $(CURDIR)/bin/artifacts

.PHONY: all build demo test deps vet bench clean

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

clean:
	rm -rf bin
