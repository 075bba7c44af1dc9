# Sigil's build and test entry points. `make test` is what CI runs.

GO        ?= go
FUZZTIME  ?= 5s
PKGS      := ./...

.PHONY: all build test check vet fmt-check unit fuzz-smoke bench bench-smoke clean

all: build

build:
	$(GO) build -o bin/sigil ./cmd/sigil

## test: the whole suite: formatting, vet, every test with the race detector
## (SQLite and Postgres), then a short bounded run of every fuzz target.
test: check unit fuzz-smoke

check: fmt-check vet

fmt-check:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

unit:
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

# Each fuzz target runs for FUZZTIME on top of its checked-in seed corpus.
fuzz-smoke:
	@set -e; for spec in $$(grep -rl --include='*_test.go' '^func Fuzz' . | sort); do \
		dir=$$(dirname $$spec); \
		for fn in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$spec | sed 's/^func //'); do \
			echo "fuzz $$dir $$fn ($(FUZZTIME))"; \
			$(GO) test -run='^$$' -fuzz="^$$fn$$" -fuzztime=$(FUZZTIME) $$dir; \
		done; \
	done

bench:
	$(GO) test -run='^$$' -bench=. -benchmem $(PKGS)

clean:
	rm -rf bin
