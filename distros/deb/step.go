package deb

import (
	"context"
	_ "embed"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/buildkit/client/llb"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/llbgen"
)

//go:embed apt-lib.sh
var aptLibScript []byte

// Helper commands of the deb methods (distros/deb/debstep), named to
// the step scripts as COPA_CMD_<key>.
const (
	// CmdKeepUnchanged BASE TARGET gives files an upgrade left unchanged
	// their original metadata.
	CmdKeepUnchanged = "keep-unchanged-deb"
	// CmdInstall STAGING TARGET NOTES installs unpacked packages into an
	// image without apt.
	CmdInstall = "install-deb"
)

// helperCommands are the COPA_CMD_* variables of the deb steps.
var helperCommands = map[string]string{
	"KEEP_UNCHANGED": CmdKeepUnchanged,
	"INSTALL":        CmdInstall,
}

// Bounds on the apt sources files read from an image.
const maxSourcesFile = 1 << 20

// SecretAuth is the id of the build secret that holds apt's credentials,
// in apt_auth.conf(5) form ("machine HOST[:PORT][/PATH] login U password
// P"); the step points apt's Dir::Etc::netrc at it.
const SecretAuth = "apt-auth"

// aptStep is what sets one apt step apart from the other: apt in the
// image (Apt) or in a tooling image (Tooling).
type aptStep struct {
	script      string // the entry script's name in the inputs
	scriptData  []byte
	files       []llbgen.File // more inputs besides the scripts and suites
	cachePrefix string        // of the cache mount IDs
	tool        string        // for the progress name
	mounts      distros.StepMounts
}

// options returns the run options of an apt step: the entry script with
// the mode, policy and NAME=VERSION arguments; root in /; the step
// protocol's environment; the scripts, the files and the release suites
// the sources may lack read-only in the inputs; /tmp and /var/log on a
// tmpfs; apt's lists and archives in cache mounts per release and
// platform; then more, and the request's constraints.
func (s aptStep) options(req distros.PatchRequest, rel Release, sources map[string][]byte, mode string, specs []string, more ...llb.RunOption) []llb.RunOption {
	sources = effectiveSources(sources, req.Sources)
	extra, added := rel.ExtraSources(Arch(req.Platform.Architecture, req.Platform.Variant), Suites(sources))
	if req.Sources != nil && req.Sources.Only {
		// The user's sources are all there is (an air-gapped mirror):
		// nothing official is added.
		extra, added = "", nil
	}
	args := append([]string{"/bin/sh", path.Join(distros.InputsDir, s.script), mode, string(req.Policy)}, specs...)
	files := append([]llbgen.File{
		{Name: "apt-lib.sh", Data: aptLibScript},
		{Name: s.script, Mode: 0o755, Data: s.scriptData},
	}, s.files...)
	files = append(files,
		llbgen.File{Name: "extra.list", Data: []byte(extra)},
		llbgen.File{Name: "extra.suites", Data: []byte(strings.Join(added, "\n"))})
	if src := req.Sources; src != nil {
		files = append(files, llbgen.File{Name: distros.SourcesInput(*src), Data: src.Data})
	}
	inputs := llbgen.Files(files, append(slices.Clone(req.Constraints), llb.WithCustomName(req.StepPrefix+distros.InternalInputs))...)

	cacheKey := rel.CacheKey + "-" + strings.ReplaceAll(platformString(req), "/", "-")
	opts := []llb.RunOption{
		llb.Args(args),
		llb.User("0:0"),
		llb.Dir("/"),
		llb.AddEnv("PATH", llbgen.DefaultPath),
		distros.StepEnv(s.mounts, helperCommands),
		llbgen.Tmpfs("/tmp"),
		llbgen.ReadOnly(distros.InputsDir, inputs),
		llbgen.Tmpfs("/var/log"),
		llbgen.CacheDir("/var/lib/apt/lists", s.cachePrefix+"-lists-"+cacheKey),
		llbgen.CacheDir("/var/cache/apt", s.cachePrefix+"-archives-"+cacheKey),
		llb.WithCustomName(req.StepPrefix + distros.StepName(s.tool, req.Plan)),
		// Credentials and CAs, when the build has them: files on the
		// step's /tmp, never in the image, the cache key or the log.
		llb.AddEnv(distros.EnvSecrets, distros.SecretsDir),
		llb.AddEnv(distros.EnvAuthSecret, SecretAuth),
		llbgen.Secret(distros.SecretPath(SecretAuth), SecretAuth),
		llbgen.Secret(distros.SecretPath(distros.SecretCA), distros.SecretCA),
	}
	if src := req.Sources; src != nil {
		mode := "replace"
		if src.Add {
			mode = "add"
		}
		opts = append(opts, llb.AddEnv(distros.EnvSourcesName, src.Name), llb.AddEnv(distros.EnvSourcesMode, mode))
		if src.Keep {
			opts = append(opts, llb.AddEnv(distros.EnvSourcesKeep, "keep"))
		}
		if src.Only {
			opts = append(opts, llb.AddEnv(distros.EnvSourcesOnly, "only"))
		}
	}
	opts = append(opts, distros.NetworkEnv(req.Network)...)
	if req.IgnoreCache {
		opts = append(opts, llb.IgnoreCache)
	}
	if e := req.SourceDateEpoch; e != nil {
		opts = append(opts, llb.AddEnv(distros.EnvSourceDateEpoch, strconv.FormatInt(e.Unix(), 10)))
	}
	if req.Proxy != nil {
		opts = append(opts, llb.WithProxy(*req.Proxy))
	}
	opts = append(opts, more...)
	for _, c := range req.Constraints {
		opts = append(opts, c)
	}
	return opts
}

func platformString(req distros.PatchRequest) string {
	p := req.Platform
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// effectiveSources is what apt reads in the patch: the image's (or the
// tooling image's) source files, with a SOURCES file replacing them or
// added to them.
func effectiveSources(own map[string][]byte, given *distros.Sources) map[string][]byte {
	if given == nil {
		return own
	}
	out := map[string][]byte{}
	if given.Add {
		maps.Copy(out, own)
	}
	out[path.Join(SourcesPartDir, given.Name)] = given.Data
	return out
}

// readSources collects the image's apt source files for Suites.
func readSources(ctx context.Context, root distros.FS) (map[string][]byte, error) {
	files := map[string][]byte{}
	if ok, err := root.Exists(ctx, SourcesList); err != nil {
		return nil, err
	} else if ok {
		dt, err := root.ReadFile(ctx, SourcesList, maxSourcesFile)
		if err != nil {
			return nil, err
		}
		files[SourcesList] = dt
	}
	names, err := root.ReadDir(ctx, SourcesPartDir)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if !strings.HasSuffix(n, ".list") && !strings.HasSuffix(n, ".sources") {
			continue
		}
		p := path.Join(SourcesPartDir, n)
		dt, err := root.ReadFile(ctx, p, maxSourcesFile)
		if err != nil {
			return nil, err
		}
		files[p] = dt
	}
	return files, nil
}
