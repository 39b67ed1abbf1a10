# Builds the copa/frontend image: a static gateway frontend binary in an
# otherwise empty image, for any target platform Go cross-compiles to
# (the build stage runs on the build platform):
#   docker buildx build --platform linux/amd64,linux/arm64 ...
#
# Where base images cannot be pulled, replace the build stage with a directory
# holding host-built binaries at out/<os>-<arch>/frontend, one per target:
#   for a in amd64 arm64; do
#     CGO_ENABLED=0 GOOS=linux GOARCH=$a go build -trimpath -o DIR/out/linux-$a/frontend ./cmd/frontend
#   done
#   docker buildx build --platform linux/amd64,linux/arm64 --build-context build=DIR ...
# (hack/harness.sh frontend-image does exactly this).

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
ENV CGO_ENABLED=0
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w" -o /out/$TARGETOS-$TARGETARCH/frontend ./cmd/frontend

FROM scratch
ARG TARGETOS TARGETARCH
COPY --from=build /out/$TARGETOS-$TARGETARCH/frontend /bin/frontend
# The gateway refuses any capability this label does not list.
LABEL moby.buildkit.frontend.network.none="true"
LABEL moby.buildkit.frontend.caps="moby.buildkit.frontend.inputs,moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts"
USER 65532:65532
ENTRYPOINT ["/bin/frontend"]
