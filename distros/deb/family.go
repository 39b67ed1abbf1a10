package deb

import (
	"context"
	_ "embed"
	"fmt"
	"path"
	"strings"

	"github.com/moby/buildkit/client/llb"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/llbgen"
)

var (
	//go:embed apt-lib.sh
	aptLibScript []byte
	//go:embed apt-patch.sh
	aptPatchScript []byte
	//go:embed debconf.conf
	debconfConf []byte
)

// Where the apt step finds its inputs and leaves its findings. Both sit on
// a tmpfs at /tmp, so their mount points never reach the image.
const (
	inputDir = "/tmp/copa-in"
	notesDir = "/tmp/copa-out"
)

// Apt patches Debian and Ubuntu images that have apt and a shell.
type Apt struct{}

var _ distros.Family = Apt{}

// Name implements distros.Family.
func (Apt) Name() string { return "apt" }

// Versioning implements distros.Family.
func (Apt) Versioning() distros.Versioning { return Versioning{} }

// Detect implements distros.Family: Debian and Ubuntu images with a dpkg
// status file, apt-get and a shell.
func (Apt) Detect(ctx context.Context, root distros.FS, osr distros.OSRelease) (bool, error) {
	if _, err := ReleaseOf(osr); err != nil {
		return false, nil
	}
	l, err := DetectLayout(ctx, root)
	return l == LayoutApt, err
}

// Installed implements distros.Family: it reads the dpkg status database.
func (Apt) Installed(ctx context.Context, root distros.FS) (map[string]string, error) {
	pkgs, err := readDatabase(ctx, root, LayoutApt)
	if err != nil {
		return nil, err
	}
	return Versions(pkgs), nil
}

// Patch implements distros.Family: one apt run inside the image, with apt's
// lists and archives in cache mounts and logs on a tmpfs, so that only the
// installed packages and dpkg's own database reach the layer.
func (a Apt) Patch(ctx context.Context, root distros.FS, req distros.PatchRequest) (*distros.Patch, error) {
	rel, err := ReleaseOf(req.OS)
	if err != nil {
		return nil, err
	}
	sources, err := readSources(ctx, root)
	if err != nil {
		return nil, err
	}
	mode := "report"
	if req.Plan.All {
		mode = "all"
	}
	var specs []string
	for _, u := range req.Plan.Updates {
		specs = append(specs, u.Name+"="+u.Fixed)
	}
	var helper []llb.RunOption
	if req.Helper != nil && req.KeepUnchanged {
		helper = append(helper, llbgen.MountHelper(*req.Helper, req.Image))
	}
	opts := aptStep{
		script:      "apt-patch.sh",
		scriptData:  aptPatchScript,
		files:       []llbgen.File{{Name: "debconf.conf", Data: debconfConf}},
		cachePrefix: "copa-apt",
		tool:        "apt",
	}.options(req, rel, sources, mode, specs, helper...)
	run := req.Image.Run(opts...)
	notes := run.AddMount(notesDir, llb.Scratch())

	return &distros.Patch{
		Root:        run.Root(),
		Notes:       notes,
		ReadOutcome: readOutcome,
	}, nil
}

// aptStep is what sets one apt step apart from the other: apt in the
// image (Apt) or in a tooling image (Tooling).
type aptStep struct {
	script      string // the entry script's name in inputDir
	scriptData  []byte
	files       []llbgen.File // more inputs besides the scripts and suites
	cachePrefix string        // of the cache mount IDs
	tool        string        // for the progress name
}

// options returns the run options of an apt step: the entry script with
// the mode, policy and NAME=VERSION arguments; root in /; the scripts,
// the files and the release suites the sources may lack read-only in
// inputDir; /tmp and /var/log on a tmpfs; apt's lists and archives in
// cache mounts per release and platform; then more, and the request's
// constraints.
func (s aptStep) options(req distros.PatchRequest, rel Release, sources map[string][]byte, mode string, specs []string, more ...llb.RunOption) []llb.RunOption {
	extra, added := ExtraSources(rel, req.Platform.Architecture, Suites(sources))
	args := append([]string{"/bin/sh", inputDir + "/" + s.script, mode, string(req.Policy)}, specs...)
	files := append([]llbgen.File{
		{Name: "apt-lib.sh", Data: aptLibScript},
		{Name: s.script, Mode: 0o755, Data: s.scriptData},
	}, s.files...)
	files = append(files,
		llbgen.File{Name: "extra.list", Data: []byte(extra)},
		llbgen.File{Name: "extra.suites", Data: []byte(strings.Join(added, "\n"))})
	inputs := llbgen.Files(files, req.Constraints...)

	cacheKey := fmt.Sprintf("%s-%s-%s", rel.Distro, orUnknown(rel.Codename), strings.ReplaceAll(platformString(req), "/", "-"))
	opts := []llb.RunOption{
		llb.Args(args),
		llb.User("0:0"),
		llb.Dir("/"),
		llb.AddEnv("PATH", llbgen.DefaultPath),
		llbgen.Tmpfs("/tmp"),
		llbgen.ReadOnly(inputDir, inputs),
		llbgen.Tmpfs("/var/log"),
		llbgen.CacheDir("/var/lib/apt/lists", s.cachePrefix+"-lists-"+cacheKey),
		llbgen.CacheDir("/var/cache/apt", s.cachePrefix+"-archives-"+cacheKey),
		llb.WithCustomName(stepName(s.tool, req.Plan)),
	}
	opts = append(opts, more...)
	for _, c := range req.Constraints {
		opts = append(opts, c)
	}
	return opts
}

func stepName(tool string, p *distros.Plan) string {
	if p.All {
		return "[copa] " + tool + ": upgrade every package that has an update"
	}
	names := p.Names()
	list := strings.Join(names, " ")
	if len(names) > 8 {
		list = strings.Join(names[:8], " ") + fmt.Sprintf(" and %d more", len(names)-8)
	}
	return fmt.Sprintf("[copa] %s: update %d package(s): %s", tool, len(names), list)
}

func platformString(req distros.PatchRequest) string {
	p := req.Platform
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// readSources collects the image's apt source files for Suites.
func readSources(ctx context.Context, root distros.FS) (map[string][]byte, error) {
	files := map[string][]byte{}
	if ok, err := root.Exists(ctx, SourcesList); err != nil {
		return nil, err
	} else if ok {
		dt, err := root.ReadFile(ctx, SourcesList)
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
		dt, err := root.ReadFile(ctx, p)
		if err != nil {
			return nil, err
		}
		files[p] = dt
	}
	return files, nil
}
