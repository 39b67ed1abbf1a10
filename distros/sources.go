package distros

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/moby/buildkit/client/llb"

	"github.com/copa/frontend/llbgen"
)

// Sources is what a Patchfile's SOURCES instruction gives: a package
// sources file from the build context that the patch uses in place of the
// image's own sources, or besides them.
type Sources struct {
	// Name is the file's base name ("mirror.sources", "mirror.repo"): its
	// ending says which of the format's kinds of sources file it is.
	Name string
	Data []byte
	// Add makes the file add to the image's sources instead of replacing
	// them.
	Add bool
	// Only makes the given sources the only ones: when they lack a fixed
	// version, no official release sources are added (air-gapped mirrors).
	Only bool
	// Keep writes the sources the patch used into the result; without it
	// the image's own source files are unchanged.
	Keep bool
}

// MaxSourcesFile bounds the file SOURCES names.
const MaxSourcesFile = 1 << 20

// Secret IDs the patch steps mount when the build has them (docker
// buildx build --secret id=ID,src=FILE). Each format names the one that
// holds its credentials (apt-auth, repo-auth); the CA bundle is shared.
const (
	// SecretCA is a PEM bundle of the certificate authorities that sign
	// the mirrors' certificates, added to the system's for the patch.
	SecretCA = "ca"
)

// Environment of a patch step, besides StepEnv's, that every format's
// steps share.
const (
	// EnvSecrets is where the step finds the secrets' files (SecretsDir).
	EnvSecrets = "COPA_SECRETS"
	// EnvAuthSecret names the format's credentials secret to the step,
	// for its notes (NoteFailed).
	EnvAuthSecret = "COPA_AUTH_SECRET"
	// A SOURCES file: its name (the input file is "sources-" + name),
	// "replace" or "add", "keep" when the result keeps it, "only" when it
	// is the only source.
	EnvSourcesName = "COPA_SOURCES_NAME"
	EnvSourcesMode = "COPA_SOURCES_MODE"
	EnvSourcesKeep = "COPA_SOURCES_KEEP"
	EnvSourcesOnly = "COPA_SOURCES_ONLY"
	// EnvNetTimeout and EnvNetRetries are Network's, in seconds and
	// times, which every step's package manager is given.
	EnvNetTimeout = "COPA_NET_TIMEOUT"
	EnvNetRetries = "COPA_NET_RETRIES"
)

// NetworkEnv sets the step's EnvNetTimeout and EnvNetRetries, the
// defaults for a zero Network.
func NetworkEnv(n Network) []llb.RunOption {
	if n.Timeout <= 0 {
		n = DefaultNetwork
	}
	return []llb.RunOption{
		llb.AddEnv(EnvNetTimeout, strconv.Itoa(int((n.Timeout+time.Second-1)/time.Second))),
		llb.AddEnv(EnvNetRetries, strconv.Itoa(n.Retries)),
	}
}

// StepAccess is what every format's patch step is given to reach the
// package sources: the build's secrets (optional mounts on the step's
// /tmp, never in the image, the cache key or the log; authSecret is the
// format's credentials id), the SOURCES environment, the network bounds,
// and IgnoreCache when the frontend runs a failed step again.
func StepAccess(req PatchRequest, authSecret string) []llb.RunOption {
	opts := []llb.RunOption{
		llb.AddEnv(EnvSecrets, SecretsDir),
		llb.AddEnv(EnvAuthSecret, authSecret),
		llbgen.Secret(SecretPath(authSecret), authSecret),
		llbgen.Secret(SecretPath(SecretCA), SecretCA),
	}
	if src := req.Sources; src != nil {
		mode := "replace"
		if src.Add {
			mode = "add"
		}
		opts = append(opts, llb.AddEnv(EnvSourcesName, src.Name), llb.AddEnv(EnvSourcesMode, mode))
		if src.Keep {
			opts = append(opts, llb.AddEnv(EnvSourcesKeep, "keep"))
		}
		if src.Only {
			opts = append(opts, llb.AddEnv(EnvSourcesOnly, "only"))
		}
	}
	opts = append(opts, NetworkEnv(req.Network)...)
	if req.IgnoreCache {
		opts = append(opts, llb.IgnoreCache)
	}
	return opts
}

// SourcesInput is the name of the SOURCES file in a step's inputs.
func SourcesInput(s Sources) string {
	return "sources-" + s.Name
}

// SecretsDir is where a step mounts the build's secrets: under its /tmp
// tmpfs, so no mount point reaches the image.
const SecretsDir = "/tmp/copa-secrets"

// SecretPath is where a step finds the secret id.
func SecretPath(id string) string {
	return path.Join(SecretsDir, id)
}

// ValidSourcesName checks a SOURCES file's base name against the endings
// a format reads, listed in exts ("list", "sources").
func ValidSourcesName(name string, exts ...string) error {
	// apt and dnf read a directory's files only when their names are of
	// these characters; a kept file must be read. A leading "-" would read
	// as an option to any tool that is handed the name.
	plain := name != "" && !strings.HasPrefix(name, ".") && !strings.HasPrefix(name, "-") && strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == ""
	if !plain || len(name) > 128 {
		return fmt.Errorf("%q is not a plain file name of letters, digits, \".\", \"_\" and \"-\" that starts with a letter, digit or \"_\"", Clip(name))
	}
	for _, e := range exts {
		if strings.HasSuffix(name, "."+e) && len(name) > len(e)+1 {
			return nil
		}
	}
	want := make([]string, len(exts))
	for i, e := range exts {
		want[i] = "." + e
	}
	return fmt.Errorf("%q is not a sources file of this image's package format: its name must end in %s", name, strings.Join(want, " or "))
}
