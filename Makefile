# Jindalai — developer entry points. `make run` gives a working local server,
# `make test` is what CI runs (.ci/run).
GO ?= go
CONFIG ?= deploy/config.dev.yaml
STACK := deploy/stack.sh
# Exports JINDALAI_{,TEST_}MYSQL_DSN and JINDALAI_{,TEST_}REDIS_ADDR for the local stack.
STACK_ENV = eval "$$($(STACK) env)"

.PHONY: build stack stop migrate seed run test bench chaos fmt fmt-check vet clean

build:
	$(GO) build -o bin/jindalai .

stack:
	$(STACK) up

stop:
	$(STACK) down

migrate: stack build
	$(STACK_ENV) && bin/jindalai migrate -config $(CONFIG)

seed: stack build
	$(STACK_ENV) && bin/jindalai seed -config $(CONFIG)

run: stack build
	$(STACK_ENV) && \
	bin/jindalai migrate -config $(CONFIG) && \
	bin/jindalai seed -config $(CONFIG) && \
	exec bin/jindalai serve -config $(CONFIG)

test: stack fmt-check vet
	$(STACK_ENV) && CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 20m ./...

# BENCH_FLAGS: e.g. "-concurrency 64 -duration 10s -only healthz,me" (go run ./cmd/loadtest -h).
bench: stack build
	$(STACK_ENV) && $(GO) run ./cmd/loadtest -config $(CONFIG) -bin bin/jindalai $(BENCH_FLAGS)

chaos: stack
	$(STACK_ENV) && CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 15m -run Chaos -tags chaos ./chaos/...

fmt:
	$(GO) fmt ./...

# Fails listing the files gofmt would change (tracked and new, not ignored).
fmt-check:
	@files="$$(git ls-files -z --cached --others --exclude-standard -- '*.go' | xargs -0 -r gofmt -l)"; \
	if [ -n "$$files" ]; then \
		echo "gofmt needed (run 'make fmt'):"; echo "$$files"; exit 1; \
	fi

vet:
	$(GO) vet ./...

clean:
	rm -rf bin
