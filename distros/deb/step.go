package deb

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"maps"
	"path"
	"slices"
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
	"LOCK":           distros.CmdLock,
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
	helperMount llb.RunOption // replaces the helper's read-only mount
}

// options returns the run options of an apt step: the entry script with
// the mode, policy and NAME=VERSION arguments; root in /; the step
// protocol's environment; the scripts, the files and the release suites
// the sources may lack read-only in the inputs; /tmp and /var/log on a
// tmpfs; apt's lists and downloads in cache mounts (caches); then more,
// and the request's constraints.
func (s aptStep) options(req distros.PatchRequest, rel Release, sources map[string][]byte, mode string, specs []string, more ...llb.RunOption) []llb.RunOption {
	sources = effectiveSources(sources, req.Sources)
	extra, added := rel.ExtraSources(Arch(req.Platform.Architecture, req.Platform.Variant), Suites(sources))
	if req.Sources != nil && req.Sources.Only {
		// The user's sources are all there is (an air-gapped mirror):
		// nothing official is added.
		extra, added = "", nil
	}
	files := append([]llbgen.File{{Name: "apt-lib.sh", Data: aptLibScript}}, s.files...)
	files = append(files,
		llbgen.File{Name: "extra.list", Data: []byte(extra)},
		llbgen.File{Name: "extra.suites", Data: []byte(strings.Join(added, "\n"))})

	// With the helper, which provides the lock, concurrent steps share
	// the caches; without it they take turns on locked ones.
	mounts := s.mounts
	if req.Helper != nil {
		mounts.Shared = aptCacheDir
	}
	return distros.Step{
		Script:      s.script,
		ScriptData:  s.scriptData,
		Args:        append([]string{mode, string(req.Policy)}, specs...),
		Files:       files,
		Mounts:      mounts,
		HelperMount: s.helperMount,
		Commands:    helperCommands,
		Caches:      s.caches(req, rel, sources, extra, mounts.Shared != ""),
		Tool:        s.tool,
		AuthSecret:  SecretAuth,
		More:        append([]llb.RunOption{llbgen.Tmpfs("/var/log")}, more...),
	}.Options(req)
}

// aptCacheDir is apt's cache directory: its binary caches, and the
// downloads.
const aptCacheDir = "/var/cache/apt"

// caches are the cache mounts of an apt step, per release and platform:
// apt's lists, and its cache directory.
//
// Shared, they are also per set of sources (sourcesKey), so that every
// step that mounts them reads and writes the same lists: apt-get update
// deletes the lists its sources do not name, and the lists of other
// sources under one release are other files. apt's binary caches there
// are shared too: apt writes them to a new file and renames it into
// place, so a step never reads another's half-written one, and the cache
// of the lists is built once. The downloads are in a directory of their
// own (the script's copa-archives), from which each step copies what it
// installs: apt locks the archive it installs from for the whole install,
// and the cleanup hook of the official images deletes what it finds in
// /var/cache/apt/archives.
//
// Locked, one step at a time has them whole, as apt expects.
func (s aptStep) caches(req distros.PatchRequest, rel Release, sources map[string][]byte, extra string, shared bool) []llb.RunOption {
	key := rel.CacheKey + "-" + strings.ReplaceAll(platformString(req), "/", "-")
	cacheDir := llbgen.CacheDir
	if shared {
		key += "-" + sourcesKey(sources, extra)
		cacheDir = llbgen.SharedCacheDir
	}
	return []llb.RunOption{
		cacheDir("/var/lib/apt/lists", s.cachePrefix+"-lists-"+key),
		cacheDir(aptCacheDir, s.cachePrefix+"-archives-"+key),
	}
}

// sourcesKey names a set of apt sources in cache IDs: a hash of the
// sources files, by name and content, and of the entries the step adds
// when they lack a fixed version.
func sourcesKey(sources map[string][]byte, extra string) string {
	h := sha256.New()
	for _, name := range slices.Sorted(maps.Keys(sources)) {
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(sources[name]))
		h.Write(sources[name])
	}
	fmt.Fprintf(h, "extra\x00%d\x00%s", len(extra), extra)
	return hex.EncodeToString(h.Sum(nil))[:16]
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
