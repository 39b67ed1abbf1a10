# make demo: patch the example image end to end (starts an embedded BuildKit
#            and loopback registry when no builder is reachable).
# make test: unit and integration tests against a real BuildKit.

SHELL := /bin/bash
GO ?= go

.PHONY: demo test unit vet harness bench

demo:
	hack/demo.sh

test: vet harness
	eval "$$(hack/harness.sh env)" && COPA_REQUIRE_HARNESS=1 $(GO) test -count=1 -timeout 40m ./...

unit:
	$(GO) test -short ./...

vet:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi

harness:
	hack/harness.sh all

bench: harness
	eval "$$(hack/harness.sh env)" && $(GO) run ./hack/bench && $(GO) run ./hack/bench -image copa-test/debian:11-stale && \
		$(GO) run ./hack/bench -image copa-test/distroless:12-stale && \
		$(GO) run ./hack/bench -image copa-test/distroless:11-stale && \
		$(GO) run ./hack/bench -image copa-test/debian:12-stale-multi && \
		$(GO) run ./hack/bench -image copa-test/el:9-dnf
