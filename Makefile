# make demo: patch the example image end to end (starts an embedded BuildKit
#            and loopback registry when no builder is reachable).
# make test: unit and integration tests against a real BuildKit.
# make fuzz: every fuzz target for FUZZTIME each (docs/fuzzing.md).

SHELL := /bin/bash
GO ?= go
# FUZZTIME is how long make fuzz runs each target (go test -fuzztime).
FUZZTIME ?= 1m

.PHONY: demo test unit vet harness bench fuzz

demo:
	hack/demo.sh

test: vet harness
	eval "$$(hack/harness.sh env)" && COPA_REQUIRE_HARNESS=1 $(GO) test -count=1 -timeout 40m ./...

unit:
	$(GO) test -short ./...

vet:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi

# go test -fuzz takes one target of one package per run, so the targets
# (every func FuzzX in a _test.go file) run one after another. All run even
# when one fails; the failing ones are listed at the end, their crashers
# left in the package's testdata/fuzz/FuzzX/.
fuzz:
	@failed=""; \
	for file in $$(grep -rl --include='*_test.go' '^func Fuzz' . | sort); do \
		pkg=$$(dirname $$file); \
		for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$file); do \
			echo "== $$pkg $$target ($(FUZZTIME))"; \
			$(GO) test -run='^$$' -fuzz="^$$target\$$" -fuzztime=$(FUZZTIME) $$pkg || failed="$$failed $$pkg.$$target"; \
		done; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: failed:$$failed (crashers: git status --untracked-files=all -- '*/testdata/fuzz/*')"; exit 1; fi

harness:
	hack/harness.sh all

bench: harness
	eval "$$(hack/harness.sh env)" && $(GO) run ./hack/bench && $(GO) run ./hack/bench -image copa-test/debian:11-stale && \
		$(GO) run ./hack/bench -image copa-test/distroless:12-stale && \
		$(GO) run ./hack/bench -image copa-test/distroless:11-stale && \
		$(GO) run ./hack/bench -image copa-test/debian:12-stale-multi && \
		$(GO) run ./hack/bench -image copa-test/el:9-dnf
