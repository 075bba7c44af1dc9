# Sigil's build and test entry points. `make test` is what CI runs.

GO        ?= go
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME  ?= 10000x
PKGS      := ./...
MODULE    := github.com/sigil-auth/sigil
# GOTAGS selects the release build: "openssl" signs RS256 through the
# system's libcrypto (cgo, libssl-dev; see keys/rsasign). `make build
# GOTAGS=` builds the pure-Go fallback, as `go run ./cmd/sigil` does.
GOTAGS    ?= openssl

.PHONY: FORCE example-mcp-agent all build build-load compare test check vet staticcheck fmt-check unit fuzz-smoke bench bench-smoke load clean mailpit axe screenshots examples example-node example-python deploy-test

all: build

build:
	$(GO) build -tags '$(GOTAGS)' -o bin/sigil ./cmd/sigil
	@bin/sigil --version

build-load:
	$(GO) build -tags '$(GOTAGS)' -o bin/sigil-load ./cmd/sigil-load

## test: the whole suite: formatting, vet, a short bounded run of every
## fuzz target, a short load-generator run against a real server, the
## examples in other languages against a real server (examples/), the
## deployment files (deploy/, a module of its own), and every test with
## the race detector (SQLite and Postgres), last so that its summary
## closes the output.
test: check fuzz-smoke bench-smoke examples deploy-test unit

check: fmt-check vet staticcheck

fmt-check:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# vet and staticcheck look at both builds: the tagged files (cgo) and the
# pure-Go fallback.
vet:
	$(GO) vet $(PKGS)
	$(GO) vet -tags '$(GOTAGS)' $(PKGS)

staticcheck:
	$(STATICCHECK) $(PKGS)
	$(STATICCHECK) -tags '$(GOTAGS)' $(PKGS)

# The whole suite runs on the pure-Go build; the key packages run again
# with GOTAGS, so the OpenSSL signer's differential, concurrency and
# lifetime tests run under the race detector too. cmd/sigil's end-to-end
# tests, most of the time and mostly waiting, run as two processes side
# by side (scripts/race-shards.sh) while the other packages run.
E2E       := ./cmd/sigil
unit: mailpit axe
	@set -e; GO='$(GO)' scripts/race-shards.sh $(E2E) > bin/e2e-shards.log 2>&1 & e2e=$$!; \
	status=0; $(GO) test -race -count=1 -timeout 20m $$($(GO) list $(PKGS) | grep -vx '$(MODULE)/cmd/sigil') || status=1; \
	$(GO) test -race -count=1 -timeout 10m -tags '$(GOTAGS)' ./keys/... || status=1; \
	wait $$e2e || status=1; cat bin/e2e-shards.log; exit $$status

# mailpit is the real SMTP server the account tests send to (they start
# it on loopback ports and read what it received through its HTTP API).
MAILPIT_VERSION ?= v1.33.1
mailpit: bin/mailpit
bin/mailpit:
	GOBIN=$(CURDIR)/bin $(GO) install github.com/axllent/mailpit@$(MAILPIT_VERSION)

# axe is axe-core, which the page audit (TestPagesAudit) injects into
# every hosted and console page; npm ci only when node_modules is missing
# or older than the lock file.
AXE := cmd/sigil/testdata/axe
axe: $(AXE)/node_modules/.package-lock.json
$(AXE)/node_modules/.package-lock.json: $(AXE)/package-lock.json
	cd $(AXE) && npm ci --no-audit --no-fund

# screenshots runs the page audit on SQLite and writes a screenshot of
# every page at 1280 and 390 px wide to docs/screens (docs/pages.md).
screenshots: mailpit axe
	rm -f docs/screens/*.png
	SIGIL_SCREENSHOTS_DIR=$(CURDIR)/docs/screens $(GO) test -count=1 -run '^(TestPagesAudit|TestDevicePagesInBrowser)$$/^sqlite$$' ./cmd/sigil/

# Each fuzz target runs FUZZTIME on top of its checked-in seed corpus,
# built with GOTAGS (keys/rsasign's target compares OpenSSL with crypto/rsa).
# The budget is a count of executions, not a duration: with a duration,
# Go 1.26's fuzzing coordinator can report its own deadline as a failure
# ("context deadline exceeded", no failing input) when a worker is busy at
# the moment time runs out (go.dev/issue/75804), which failed CI once.
fuzz-smoke:
	@set -e; for spec in $$(grep -rl --include='*_test.go' '^func Fuzz' . | sort); do \
		dir=$$(dirname $$spec); \
		for fn in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$spec | sed 's/^func //'); do \
			echo "fuzz $$dir $$fn ($(FUZZTIME))"; \
			$(GO) test -tags '$(GOTAGS)' -run='^$$' -fuzz="^$$fn$$" -fuzztime=$(FUZZTIME) $$dir; \
		done; \
	done

# The examples in other languages each start bin/sigil on a free port.
# (The Go examples are packages of the main module: `unit` runs them.)
PYTHON ?= /usr/bin/python3
NODE_EXAMPLE := examples/node-express
MCP_AGENT := examples/mcp-agent-ts
examples: example-node example-python example-mcp-agent

# npm ci only when node_modules is missing or older than the lock file.
$(NODE_EXAMPLE)/node_modules/.package-lock.json: $(NODE_EXAMPLE)/package-lock.json
	cd $(NODE_EXAMPLE) && npm ci --no-audit --no-fund

example-node: build $(NODE_EXAMPLE)/node_modules/.package-lock.json
	cd $(NODE_EXAMPLE) && SIGIL_BIN=$(CURDIR)/bin/sigil npm test

# The MCP TypeScript SDK's auth() flow against bin/sigil and the Go MCP
# server of examples/mcp-server.
$(MCP_AGENT)/node_modules/.package-lock.json: $(MCP_AGENT)/package-lock.json
	cd $(MCP_AGENT) && npm ci --no-audit --no-fund

bin/mcp-server: FORCE
	$(GO) build -o bin/mcp-server ./examples/mcp-server

example-mcp-agent: build bin/mcp-server $(MCP_AGENT)/node_modules/.package-lock.json
	cd $(MCP_AGENT) && SIGIL_BIN=$(CURDIR)/bin/sigil MCP_SERVER_BIN=$(CURDIR)/bin/mcp-server npm test

example-python: build
	SIGIL_BIN=$(CURDIR)/bin/sigil $(PYTHON) -m unittest discover -s examples/python -v

# deploy/ is a separate module (Helm and the Kubernetes API types stay out
# of Sigil's): the chart rendered and strictly decoded, the alert rules and
# dashboard checked against a real server's /metrics.
deploy-test: build
	cd deploy && gofmt -l . | (! grep .) && $(GO) vet ./... && SIGIL_BIN=$(CURDIR)/bin/sigil $(GO) test -count=1 ./...

bench:
	$(GO) test -tags '$(GOTAGS)' -run='^$$' -bench=. -benchmem $(PKGS)

# bench-smoke starts bin/sigil on 127.0.0.1 with a temporary SQLite
# database (open client registration, for the register scenario), runs
# every scenario and baseline for a second at low concurrency, and stops
# it: it proves the tooling works (no thresholds). The resource scenario
# needs a resource server: bench/verify-compare.sh runs it.
bench-smoke: build build-load
	bin/sigil-load -spawn bin/sigil -spawn-env SIGIL_REGISTRATION=open -duration 1s -c 2 -scenario all,introspect,authcode,loginpage,loginpage-post,register -baselines

# load is the full measurement of docs/benchmarks.md. LOAD_FLAGS adds
# flags, e.g. LOAD_FLAGS='-spawn-env SIGIL_SIGNING_ALG=EdDSA'.
LOAD_DURATION ?= 10s
LOAD_C        ?= 16
load: build build-load
	bin/sigil-load -spawn bin/sigil -duration $(LOAD_DURATION) -c $(LOAD_C) -scenario all -baselines $(LOAD_FLAGS)

# compare is the side-by-side client_credentials RS256 benchmark against
# node oidc-provider 9 (bench/compare.sh; npm installs the pinned peer).
compare:
	bench/compare.sh

clean:
	rm -rf bin

FORCE:
