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

# Every fuzz target for FUZZTIME, one after another (hack/fuzz.sh; it
# tells Go 1.26's deadline race at -fuzztime from a finding).
fuzz:
	GO=$(GO) hack/fuzz.sh $(FUZZTIME)

harness:
	hack/harness.sh all

bench: harness
	eval "$$(hack/harness.sh env)" && $(GO) run ./hack/bench && $(GO) run ./hack/bench -image copa-test/debian:11-stale && \
		$(GO) run ./hack/bench -image copa-test/distroless:12-stale && \
		$(GO) run ./hack/bench -image copa-test/distroless:11-stale && \
		$(GO) run ./hack/bench -image copa-test/debian:12-stale-multi && \
		$(GO) run ./hack/bench -image copa-test/el:9-dnf && \
		$(GO) run ./hack/bench -image copa-test/alpine:3.21-stale
