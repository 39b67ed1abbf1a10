package rpm

import (
	_ "embed"
	"fmt"
	"path"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/llbgen"
)

//go:embed rpm-patch.sh
var patchScript []byte

// Helper commands of the rpm methods (distros/rpm/rpmstep), named to the
// step script as COPA_CMD_<key>.
const (
	// CmdResolve FORMAT POLICY PLAN AVAILABLE INSTALL NOTES picks the
	// version to install of each planned package from what the
	// repositories offer, and writes the unresolved ones to NOTES.
	CmdResolve = "resolve-rpm"
	// CmdSnapshot ROOT DIR records what the end of the step needs of the
	// image before the package manager runs.
	CmdSnapshot = "snapshot-rpm"
	// CmdFinish SNAPSHOT ROOT NOTES report|all keep|all writes the
	// upgrades note, removes what the package manager left behind and
	// keeps unchanged files' metadata.
	CmdFinish = "finish-rpm"
	// CmdPrepareRepos DIR dnf|zypper AUTH|- CA|- gives the step's copies
	// of the repository files the build's credentials and CA.
	CmdPrepareRepos = "prepare-repos-rpm"
)

var helperCommands = map[string]string{
	"RESOLVE":       CmdResolve,
	"SNAPSHOT":      CmdSnapshot,
	"FINISH":        CmdFinish,
	"PREPARE_REPOS": CmdPrepareRepos,
}

// SecretAuth is the id of the build secret with the repositories'
// credentials: "machine HOST[:PORT][/PATH] login USER password PASS"
// lines, as apt-auth, or one PEM file with a client certificate and its
// key.
const SecretAuth = "repo-auth"

// Environment of the rpm step, besides the step protocol's.
const (
	EnvPM         = "COPA_PM"          // the package manager's binary
	EnvPMCache    = "COPA_PM_CACHE"    // its cache mount
	EnvKeep       = "COPA_KEEP"        // "keep": keep unchanged files' metadata; "all": do not
	EnvReleaseVer = "COPA_RELEASEVER"  // $releasever, in a tooling step
	EnvDBPath     = "COPA_RPM_DBPATH"  // the target's database directory, in a tooling step
	EnvScripts    = "COPA_RPM_SCRIPTS" // "run" or "skip" the target's install scripts, in a tooling step
	// EnvMacrosDir replaces /etc/rpm as where a tooling step writes the
	// macros file that points rpm at the target's database; only the
	// script's own tests set it.
	EnvMacrosDir = "COPA_RPM_MACROS_DIR"
)

// PMCacheDir is where the package manager's cache is mounted: under the
// step's /tmp tmpfs, so its mount point never reaches the image, and
// named to the manager by option (cachedir, --cache-dir).
const PMCacheDir = "/tmp/copa-pm-cache"

// stateDirs are directories the package managers write to that no
// option moves: a tmpfs is mounted over each that the image has (a
// missing one would otherwise be created as a mount point, and land in
// the layer as an empty directory).
var stateDirs = []string{"/var/log", "/var/tmp", "/run", "/var/lib/dnf", "/var/lib/zypp"}

// step is one rpm patch step: a manager in the image, or in a tooling
// image with the image mounted at distros.TargetDir.
type step struct {
	manager Manager
	binary  string
	rel     Release
	// state lists the stateDirs the patched root has.
	state []string
	// tooling: the image is patched from another root.
	tooling bool
	dbPath  string
	scripts bool
	tool    string // for the progress name
}

// options returns the run options of the step.
func (s step) options(req distros.PatchRequest) ([]llb.RunOption, error) {
	if req.Helper == nil {
		return nil, distros.NeedHelper("rpm")
	}
	mode, keep, plan, err := distros.PlanInput(req, Versioning{})
	if err != nil {
		return nil, err
	}
	if req.Sources != nil && s.tooling && s.manager.Name == Zypper.Name {
		return nil, fmt.Errorf("SOURCES needs zypper in the image itself: zypper in a tooling image reads only the target's repository files")
	}
	more := []llb.RunOption{
		llb.AddEnv(EnvPM, s.binary),
		llb.AddEnv(EnvPMCache, PMCacheDir),
		llb.AddEnv(EnvKeep, keep),
	}
	root := "/"
	if s.tooling {
		root = distros.TargetDir
		scripts := "skip"
		if s.scripts {
			scripts = "run"
		}
		more = append(more,
			llb.AddEnv(EnvReleaseVer, s.rel.ReleaseVer),
			llb.AddEnv(EnvDBPath, s.dbPath),
			llb.AddEnv(EnvScripts, scripts))
		if req.Native {
			more = append(more, llb.AddEnv(distros.EnvTargetArch, Arch(req.Platform.Architecture, req.Platform.Variant)))
		}
	}
	for _, d := range s.state {
		more = append(more, llbgen.Tmpfs(path.Join(root, d)))
	}
	platform := strings.ReplaceAll(platforms.Format(req.Platform), "/", "-")
	return distros.Step{
		Script:     "rpm-patch.sh",
		ScriptData: patchScript,
		Args:       []string{mode, string(req.Policy)},
		Files: []llbgen.File{
			{Name: "pm.sh", Data: s.manager.Script},
			{Name: "plan", Data: plan},
		},
		Mounts:   distros.StepMounts{Helper: true, Target: s.tooling},
		Commands: helperCommands,
		// The helper, not the original image: what it needs of the image
		// it records at the start of the step (rpmstep.Snapshot).
		Caches:     []llb.RunOption{llbgen.CacheDir(PMCacheDir, "copa-rpm-"+s.manager.CacheID+"-"+s.rel.CacheKey+"-"+platform)},
		Tool:       s.tool,
		AuthSecret: SecretAuth,
		More:       more,
	}.Options(req), nil
}

// Arch is the rpm architecture of an OCI platform's architecture and
// variant, as dnf's --forcearch takes it.
func Arch(arch, variant string) string {
	switch arch {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	case "386":
		return "i686"
	case "arm":
		if variant == "v6" {
			return "armv6hl"
		}
		return "armv7hl"
	}
	return arch // ppc64le, s390x, riscv64 are spelt alike
}
