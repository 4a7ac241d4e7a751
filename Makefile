# The two commands a newcomer types are `make run` and `make test`.
# Go from /usr/local/go is used when go is not on PATH.
export PATH := $(PATH):/usr/local/go/bin
GO ?= go

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

.PHONY: run
run: ## serve on 127.0.0.1:8080 with the embedded SQLite store in ./data
	$(GO) run ./cmd/listinggen serve

.PHONY: build
build: ## build bin/listinggen
	$(GO) build -trimpath -o bin/listinggen ./cmd/listinggen

.PHONY: test
test: ## gofmt, go vet, staticcheck and every test with -race, against SQLite and PostgreSQL + pgvector
	./scripts/test.sh

.PHONY: lint
lint: ## gofmt, go vet and staticcheck
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

.PHONY: bench
bench: ## benchmarks, each reported as a ratio to a baseline measured in the same run
	./scripts/bench.sh

.PHONY: bench-large
bench-large: ## make bench with the dedup benchmark at 1M listings (that part about 30-40 min on 2 cores; not in CI)
	DEDUP_BENCH_N=1000000 ./scripts/bench.sh

.PHONY: eval
eval: ## the dedup evaluation on the repository's test data (listinggen-lab eval)
	$(GO) run ./cmd/listinggen-lab eval

.PHONY: loadtest
loadtest: ## hey on loopback: generate at c=50 and list at c=200 (LOADTEST_DURATION each, default 60s), fake model
	./scripts/loadtest.sh

.PHONY: generate
generate: ## regenerate generated files and golden test outputs (review the diff)
	$(GO) generate ./...
	$(GO) test ./rules -run TestGolden -update

.PHONY: verify
verify: ## module checksums and a tidy go.mod
	$(GO) mod verify
	$(GO) mod tidy -diff
