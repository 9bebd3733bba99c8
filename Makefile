# paycycle — durable billing orchestrator for PortOne V1 recurring payments (NaverPay first).
#
#   make run    start everything locally: Temporal server + Web UI, PortOne emulator, HTTP edge, worker
#   make test   lint, then every test (unit, workflow, replay, end-to-end, browser)
#
# Tool versions are pinned here and installed with `go install` into bin/.

GO                  ?= go
BIN                 := $(abspath bin)
TEMPORAL_CLI        := github.com/temporalio/cli/cmd/temporal@v1.5.1
STATICCHECK         := honnef.co/go/tools/cmd/staticcheck@v0.8.2
REVIVE              := github.com/mgechev/revive@v1.17.0
COMMANDS            := worker starter emulator edgeserver devserver loadtest
TEST_TIMEOUT        ?= 75m
export ARTIFACTS_DIR ?= $(abspath .artifacts)

.PHONY: run build test test-short lint fmt tools bench load clean help cluster-tools cluster-test

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

run: build ## build and start the whole stack locally (Ctrl-C stops it; data stays in .data/)
	$(BIN)/devserver -bin-dir $(BIN)

build: ## build every command into bin/
	$(GO) build -o $(BIN)/ $(addprefix ./,$(COMMANDS))

test: build tools lint ## lint, then run every test with the race detector
	mkdir -p $(ARTIFACTS_DIR)
	PAYCYCLE_BIN_DIR=$(BIN) $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...

test-short: ## unit, workflow and replay tests only (seconds)
	$(GO) test -race -count=1 ./billing/... ./calendar/... ./codec/... ./logging/... ./portone/... ./activities/... ./workflows/...

lint: $(BIN)/staticcheck $(BIN)/revive ## gofmt, go vet, staticcheck, revive (doc comments on every exported name)
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(BIN)/staticcheck ./...
	$(BIN)/revive -config revive.toml -set_exit_status ./...

fmt: ## format the code
	gofmt -w $$(git ls-files '*.go')

tools: $(BIN)/temporal ## install the temporal CLI (v1.5.1) into bin/ (about 4 minutes the first time)

$(BIN)/temporal:
	GOBIN=$(BIN) $(GO) install $(TEMPORAL_CLI)

$(BIN)/staticcheck:
	GOBIN=$(BIN) $(GO) install $(STATICCHECK)

$(BIN)/revive:
	GOBIN=$(BIN) $(GO) install $(REVIVE)

bench: ## Go benchmarks (figures for the README; never asserted)
	$(GO) test -run '^$$' -bench . -benchmem ./calendar/ ./billing/ ./codec/ ./activities/ ./workflows/ ./portone/...

load: build ## the end-to-end load command: 200 subscriptions, 3 cycles each, invariants checked
	$(BIN)/loadtest -subscriptions 200 -rate 50 -interval 10s -cycles 3

clean: ## remove built binaries and test artifacts (keeps .data/)
	rm -rf $(BIN) $(ARTIFACTS_DIR)

cluster-tools: ## build the Temporal server and its SQL schema tool (go.temporal.io/server as pinned in go.mod) into bin/
	$(GO) build -o $(BIN)/temporal-server go.temporal.io/server/cmd/server
	$(GO) build -o $(BIN)/temporal-sql-tool go.temporal.io/server/cmd/tools/sql

cluster-test: build cluster-tools ## PostgreSQL 15 + Temporal server process + 2 workers, edge, emulator: a fleet through a worker kill and a server restart
	mkdir -p $(ARTIFACTS_DIR)
	PAYCYCLE_CLUSTER_TEST=1 PAYCYCLE_BIN_DIR=$(BIN) $(GO) test -race -count=1 -timeout 30m -v -run 'TestFleetOnPostgres|TestWorkerVersioningOnPostgres' ./cluster/
