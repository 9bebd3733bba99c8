# paycycle — durable billing orchestrator for PortOne V1 recurring payments (NaverPay first).
#
#   make run    start everything locally: Temporal server + Web UI, PortOne emulator, HTTP edge, worker
#   make test   lint, then every test (unit, workflow, replay, end-to-end, browser)
#
# Tool versions are pinned here and installed with `go install` into bin/.

GO                  ?= go
BIN                 := $(abspath bin)
TEMPORAL_CLI_VERSION := 1.5.1
TEMPORAL_CLI        := github.com/temporalio/cli/cmd/temporal@v$(TEMPORAL_CLI_VERSION)
STATICCHECK         := honnef.co/go/tools/cmd/staticcheck@v0.8.2
REVIVE              := github.com/mgechev/revive@v1.17.0
WORKFLOWCHECK       := go.temporal.io/sdk/contrib/tools/workflowcheck@v0.6.0
ERRCHECK            := github.com/kisielk/errcheck@v1.30.0
GOVULNCHECK         := golang.org/x/vuln/cmd/govulncheck@v1.9.0
COMMANDS            := worker starter emulator edgeserver consoleserver devserver loadtest
# What `make run` needs: devserver, the children it starts from -bin-dir, and the starter its
# banner prints commands for (devserver's TestMakeRunBuildsWhatItStarts keeps this list in step).
# Not loadtest: it embeds a second Temporal server, whose link alone costs a cold start minutes.
RUN_COMMANDS        := devserver worker emulator edgeserver consoleserver starter
TEST_TIMEOUT        ?= 75m
export ARTIFACTS_DIR ?= $(abspath .artifacts)

.PHONY: run build build-run test test-short lint fmt tools bench bench-abba load sweep burst clean help cluster-tools cluster-test

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

run: build-run ## build and start the whole stack locally (Ctrl-C stops it; data stays in .data/)
	$(BIN)/devserver -bin-dir $(BIN)

build: ## build every command into bin/
	$(GO) build -o $(BIN)/ $(addprefix ./,$(COMMANDS))

# One `go build` for all of them, so the packages they share compile once.
build-run: ## build only what make run starts into bin/ (no loadtest)
	$(GO) build -o $(BIN)/ $(addprefix ./,$(RUN_COMMANDS))

test: build tools cluster-tools lint ## lint, then run every test with the race detector (the PostgreSQL cluster test included)
	mkdir -p $(ARTIFACTS_DIR)
	PAYCYCLE_CLUSTER_TEST=1 PAYCYCLE_BIN_DIR=$(BIN) $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...

# One gating rule (internal/testgate): a test that starts a Temporal server, builds or runs a
# binary or drives a browser calls testgate.Slow and is skipped under -short.
test-short: ## every fast test: unit, emulator, activity, workflow and replay (no server, binary or browser)
	$(GO) test -short -race -count=1 ./...

lint: $(BIN)/staticcheck $(BIN)/revive $(BIN)/workflowcheck $(BIN)/errcheck $(BIN)/govulncheck ## gofmt, vet, staticcheck, revive, errcheck, workflowcheck, govulncheck
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(BIN)/staticcheck ./...
	$(BIN)/revive -config revive.toml -set_exit_status ./...
	$(BIN)/errcheck -ignoretests -exclude .errcheck-excludes ./...
	@# every package that holds a workflow: the subscription, its event outbox, the reconciliation
	$(BIN)/workflowcheck ./workflows/... ./webhooks/... ./reconcile/...
	@# govulncheck needs the vulnerability database at vuln.go.dev; where that host cannot be
	@# reached it says so and is skipped, any other failure (a finding) fails lint.
	@out=$$($(BIN)/govulncheck ./... 2>&1); rc=$$?; \
	if [ $$rc -ne 0 ] && printf '%s' "$$out" | grep -Eq 'fetching vulnerabilities:.*(no such host|dial tcp|connection refused|i/o timeout|network is unreachable)'; then \
		echo "govulncheck: SKIPPED, the vulnerability database is unreachable from here: $$(printf '%s' "$$out" | tail -n 1)"; \
	else printf '%s\n' "$$out"; exit $$rc; fi

fmt: ## format the code
	gofmt -w $$(git ls-files '*.go')

tools: $(BIN)/temporal ## install the temporal CLI (v1.5.1) into bin/ (about 4 minutes the first time)

# The CLI's release builds stamp their version with -X; `go install` leaves it at 0.0.0-DEV,
# which makes `bin/temporal --version` useless in a bug report.
$(BIN)/temporal:
	GOBIN=$(BIN) $(GO) install -ldflags "-X github.com/temporalio/cli/temporalcli.Version=$(TEMPORAL_CLI_VERSION)" $(TEMPORAL_CLI)

$(BIN)/staticcheck:
	GOBIN=$(BIN) $(GO) install $(STATICCHECK)

$(BIN)/revive:
	GOBIN=$(BIN) $(GO) install $(REVIVE)

$(BIN)/workflowcheck:
	GOBIN=$(BIN) $(GO) install $(WORKFLOWCHECK)

$(BIN)/errcheck:
	GOBIN=$(BIN) $(GO) install $(ERRCHECK)

$(BIN)/govulncheck:
	GOBIN=$(BIN) $(GO) install $(GOVULNCHECK)

bench: ## Go benchmarks (figures for the README; never asserted)
	$(GO) test -run '^$$' -bench . -benchmem ./calendar/ ./billing/ ./codec/ ./activities/ ./workflows/ ./portone/...

bench-abba: build ## ABBA benchmark: the subscription workflow against a minimal baseline in one process, ratios for BENCHMARKS.md (about 20 minutes)
	mkdir -p $(ARTIFACTS_DIR)/abba
	$(BIN)/loadtest abba -profile-dir $(ARTIFACTS_DIR)/abba

sweep: ## the long randomized sweep of the workflow against the rulebook (SWEEP_N timelines, default 100000; SWEEP_SEED to replay)
	SWEEP_SEED=$${SWEEP_SEED:-$$(( $$(date +%s%N) % 1000000000 ))} SWEEP_N=$${SWEEP_N:-100000} SWEEP_MAX_SECONDS=$${SWEEP_MAX_SECONDS:-14400} $(GO) test -count=1 -timeout 5h -run TestSweepAgainstTheRulebook -v ./workflows/

load: build ## the end-to-end load command: 200 subscriptions, 3 cycles each, invariants checked
	$(BIN)/loadtest -subscriptions 200 -rate 50 -interval 10s -cycles 3

burst: build ## bill-day burst: 10,000 subscriptions due at once drain at the PortOne rate, then a 3-minute PortOne outage
	$(BIN)/loadtest -burst 10000 -portone-rate 20 -burst-start-wait 3m -timeout 25m
	$(BIN)/loadtest -burst 1000 -portone-rate 20 -outage 3m -burst-start-wait 1m -timeout 15m

clean: ## remove built binaries and test artifacts (keeps .data/)
	rm -rf $(BIN) $(ARTIFACTS_DIR)

cluster-tools: ## build the Temporal server and its SQL schema tool (go.temporal.io/server as pinned in go.mod) into bin/
	$(GO) build -o $(BIN)/temporal-server go.temporal.io/server/cmd/server
	$(GO) build -o $(BIN)/temporal-sql-tool go.temporal.io/server/cmd/tools/sql

cluster-test: build cluster-tools ## PostgreSQL 15 + Temporal server process + 2 workers, edge, emulator: a fleet through a worker kill and a server restart
	mkdir -p $(ARTIFACTS_DIR)
	PAYCYCLE_CLUSTER_TEST=1 PAYCYCLE_BIN_DIR=$(BIN) $(GO) test -race -count=1 -timeout 30m -v -run 'TestFleetOnPostgres|TestWorkerVersioningOnPostgres' ./cluster/
