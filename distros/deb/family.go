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
	dt, err := root.ReadFile(ctx, StatusPath)
	if err != nil {
		return nil, fmt.Errorf("reading the dpkg database %s: %w", StatusPath, err)
	}
	pkgs, err := ParseStatus(dt)
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
	extra, added := ExtraSources(rel, req.Platform.Architecture, Suites(sources))

	mode := "report"
	if req.Plan.All {
		mode = "all"
	}
	args := []string{"/bin/sh", inputDir + "/apt-patch.sh", mode, string(req.Policy)}
	for _, u := range req.Plan.Updates {
		args = append(args, u.Name+"="+u.Fixed)
	}

	inputs := llbgen.Files([]llbgen.File{
		{Name: "apt-lib.sh", Data: aptLibScript},
		{Name: "apt-patch.sh", Mode: 0o755, Data: aptPatchScript},
		{Name: "debconf.conf", Data: debconfConf},
		{Name: "extra.list", Data: []byte(extra)},
		{Name: "extra.suites", Data: []byte(strings.Join(added, "\n"))},
	}, req.Constraints...)

	cacheKey := fmt.Sprintf("%s-%s-%s", rel.Distro, orUnknown(rel.Codename), strings.ReplaceAll(platformString(req), "/", "-"))
	opts := []llb.RunOption{
		llb.Args(args),
		llb.User("0:0"),
		llb.Dir("/"),
		llb.AddEnv("PATH", llbgen.DefaultPath),
		llbgen.Tmpfs("/tmp"),
		llbgen.ReadOnly(inputDir, inputs),
		llbgen.Tmpfs("/var/log"),
		llbgen.CacheDir("/var/lib/apt/lists", "copa-apt-lists-"+cacheKey),
		llbgen.CacheDir("/var/cache/apt", "copa-apt-archives-"+cacheKey),
		llb.WithCustomName(stepName("apt", req.Plan)),
	}
	if req.Helper != nil && req.KeepUnchanged {
		opts = append(opts, llbgen.MountHelper(*req.Helper, req.Image))
	}
	for _, c := range req.Constraints {
		opts = append(opts, c)
	}
	run := req.Image.Run(opts...)
	notes := run.AddMount(notesDir, llb.Scratch())

	return &distros.Patch{
		Root:        run.Root(),
		Notes:       notes,
		ReadOutcome: readOutcome,
	}, nil
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
