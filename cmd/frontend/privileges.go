package main

// frontendUID and frontendGID are the unprivileged user the gateway
// frontend runs as: the Dockerfile's USER, and distroless's "nonroot".
const frontendUID, frontendGID = 65532, 65532

// dropPrivileges makes the gateway frontend process give up root.
// BuildKit starts a gateway frontend's container with the image's
// entrypoint, environment and working directory but not its USER (as of
// v0.34, frontend/gateway/gateway.go sets no executor user), so the
// process starts as uid 0 of its container whatever the Dockerfile says.
// The frontend needs no privilege: it talks to BuildKit over stdin and
// stdout and reads no file of its own image. Only the gateway process
// drops root; the helper commands, run from the same binary inside patch
// steps, must stay root to write the image's files.
//
// It returns what it did, for the caller to report, or an error when root
// could not be given up (a user namespace that does not map the uid).
func dropPrivileges() (string, error) { return setIDs(frontendUID, frontendGID) }
