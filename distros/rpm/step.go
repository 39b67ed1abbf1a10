package rpm

import (
	_ "embed"
	"fmt"
	"path"
	"slices"
	"strconv"
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
		return nil, fmt.Errorf("rpm images are patched with the frontend's helper binary, which needs the frontend to run from its image (# syntax=, BUILDKIT_SYNTAX or --opt source=)")
	}
	mode := "report"
	var plan strings.Builder
	if req.Plan.All {
		mode = "all"
	}
	for _, u := range req.Plan.Updates {
		fmt.Fprintf(&plan, "%s %s\n", u.Name, u.Fixed)
	}
	keep := "all"
	if req.KeepUnchanged {
		keep = "keep"
	}
	files := []llbgen.File{
		{Name: "rpm-patch.sh", Mode: 0o755, Data: patchScript},
		{Name: "pm.sh", Data: s.manager.Script},
		{Name: "plan", Data: []byte(plan.String())},
	}
	if src := req.Sources; src != nil {
		if s.tooling && s.manager.Name == Zypper.Name {
			return nil, fmt.Errorf("SOURCES needs zypper in the image itself: zypper in a tooling image reads only the target's repository files")
		}
		files = append(files, llbgen.File{Name: distros.SourcesInput(*src), Data: src.Data})
	}
	inputs := llbgen.Files(files, append(slices.Clone(req.Constraints), llb.WithCustomName(req.StepPrefix+distros.InternalInputs))...)

	platform := strings.ReplaceAll(platforms.Format(req.Platform), "/", "-")
	opts := []llb.RunOption{
		llb.Args([]string{"/bin/sh", path.Join(distros.InputsDir, "rpm-patch.sh"), mode, string(req.Policy)}),
		llb.User("0:0"),
		llb.Dir("/"),
		llb.AddEnv("PATH", llbgen.DefaultPath),
		distros.StepEnv(distros.StepMounts{Helper: true, Target: s.tooling}, helperCommands),
		llb.AddEnv(EnvPM, s.binary),
		llb.AddEnv(EnvPMCache, PMCacheDir),
		llb.AddEnv(EnvKeep, keep),
		llbgen.Tmpfs("/tmp"),
		llbgen.ReadOnly(distros.InputsDir, inputs),
		llbgen.CacheDir(PMCacheDir, "copa-rpm-"+s.manager.CacheID+"-"+s.rel.CacheKey+"-"+platform),
		// The helper only: what it needs of the original image it records
		// at the start of the step (rpmstep.Snapshot).
		llbgen.ReadOnly(llbgen.HelperDir, *req.Helper),
		llb.WithCustomName(req.StepPrefix + distros.StepName(s.tool, req.Plan)),
	}
	opts = append(opts, distros.StepAccess(req, SecretAuth)...)
	root := "/"
	if s.tooling {
		root = distros.TargetDir
		scripts := "skip"
		if s.scripts {
			scripts = "run"
		}
		opts = append(opts,
			llb.AddEnv(EnvReleaseVer, s.rel.ReleaseVer),
			llb.AddEnv(EnvDBPath, s.dbPath),
			llb.AddEnv(EnvScripts, scripts))
		if req.Native {
			opts = append(opts, llb.AddEnv(distros.EnvTargetArch, Arch(req.Platform.Architecture, req.Platform.Variant)))
		}
	}
	for _, d := range s.state {
		opts = append(opts, llbgen.Tmpfs(path.Join(root, d)))
	}
	if e := req.SourceDateEpoch; e != nil {
		opts = append(opts, llb.AddEnv(distros.EnvSourceDateEpoch, strconv.FormatInt(e.Unix(), 10)))
	}
	if req.Proxy != nil {
		opts = append(opts, llb.WithProxy(*req.Proxy))
	}
	for _, c := range req.Constraints {
		opts = append(opts, c)
	}
	return opts, nil
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
