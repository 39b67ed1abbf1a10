# Builds the copa/frontend image: a static gateway frontend binary in an
# otherwise empty image.
#
# Where base images cannot be pulled, replace the build stage with a directory
# holding a host-built binary at out/frontend:
#   CGO_ENABLED=0 go build -trimpath -o DIR/out/frontend ./cmd/frontend
#   docker buildx build --build-context build=DIR ...
# (hack/harness.sh frontend-image does exactly this).

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
ENV CGO_ENABLED=0
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/frontend ./cmd/frontend

FROM scratch
COPY --from=build /out/frontend /bin/frontend
# The gateway refuses any capability this label does not list.
LABEL moby.buildkit.frontend.network.none="true"
LABEL moby.buildkit.frontend.caps="moby.buildkit.frontend.inputs,moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts"
USER 65532:65532
ENTRYPOINT ["/bin/frontend"]
