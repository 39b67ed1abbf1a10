package frontend

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/frontend/patchfile"
	"github.com/copa/frontend/frontend/report"
)

// loadedReport is one REPORT of the Patchfile, read and parsed.
type loadedReport struct {
	Path     string
	Platform string // normalised REPORT --platform; "" when unbound
	Location []parser.Range
	*report.Report
}

// loadContextFiles reads every REPORT and the SOURCES file from the build
// context. Only the named files are transferred from the client, in one
// transfer.
func (b *builder) loadContextFiles(ctx context.Context) error {
	var paths []string
	for _, r := range b.pf.Reports {
		paths = append(paths, r.Value)
	}
	if b.pf.Sources.Location != nil {
		paths = append(paths, b.pf.Sources.Value)
	}
	if len(paths) == 0 {
		return nil
	}
	st, err := b.bc.MainContext(ctx, llb.IncludePatterns(paths), llb.WithCustomName("[copa] load "+strings.Join(paths, ", ")))
	if err != nil {
		return err
	}
	ref, err := b.solve(ctx, *st)
	if err != nil {
		return err
	}
	fs := newRefFS(ref)
	if err := b.loadSources(ctx, fs); err != nil {
		return err
	}
	for _, r := range b.pf.Reports {
		if ok, err := fs.Exists(ctx, r.Value); err != nil {
			return atLine(err, r.Location)
		} else if !ok {
			return atLine(errors.Errorf("REPORT %s: no such file in the build context (paths are relative to the context directory given to buildx)", r.Value), r.Location)
		}
		dt, err := fs.ReadFile(ctx, r.Value, report.MaxSize)
		if err != nil {
			return atLine(errors.Wrapf(err, "REPORT %s", r.Value), r.Location)
		}
		rep, err := report.Parse(dt)
		if err != nil {
			return atLine(errors.Wrapf(err, "REPORT %s", r.Value), r.Location)
		}
		if rep.SkippedLanguageFindings > 0 {
			b.src.Warn(ctx, fmt.Sprintf("REPORT %s: %d findings are not in OS packages (language packages, or OS packages the scanner matched by CPE) and are not patched", r.Value, rep.SkippedLanguageFindings), warnOpts(r.Location))
		}
		b.reports = append(b.reports, loadedReport{Path: r.Value, Platform: r.Flags[patchfile.FlagPlatform], Location: r.Location, Report: rep})
	}
	return nil
}

// loadSources reads the SOURCES file. What it must hold depends on the
// image's package format, which the platform's inspection knows: the
// format checks it there (sourcesFor).
func (b *builder) loadSources(ctx context.Context, fs *refFS) error {
	in := b.pf.Sources
	if in.Location == nil {
		return nil
	}
	if ok, err := fs.Exists(ctx, in.Value); err != nil {
		return atLine(err, in.Location)
	} else if !ok {
		return atLine(errors.Errorf("SOURCES %s: no such file in the build context (paths are relative to the context directory given to buildx)", in.Value), in.Location)
	}
	dt, err := fs.ReadFile(ctx, in.Value, distros.MaxSourcesFile)
	if err != nil {
		return atLine(errors.Wrapf(err, "SOURCES %s", in.Value), in.Location)
	}
	b.sources = &distros.Sources{Name: path.Base(in.Value), Data: dt, Add: b.pf.SourcesAdd, Only: b.pf.SourcesOnly, Keep: b.pf.SourcesKeep}
	return nil
}

// sourcesFor checks the SOURCES file against the format of the image a
// platform holds; nil without SOURCES.
func (b *builder) sourcesFor(f distros.PatchFormat) (*distros.Sources, error) {
	if b.sources == nil {
		return nil, nil
	}
	if err := f.CheckSources(*b.sources); err != nil {
		return nil, atLine(errors.Wrapf(err, "SOURCES %s: for %s images", b.pf.Sources.Value, f.Name()), b.pf.Sources.Location)
	}
	return b.sources, nil
}

// reportsFor returns the reports that apply to platform p: those bound to
// it with --platform, and those bound to none whose scan was of p's
// architecture or does not say (checkReportPlatforms has made sure that
// every report applies to some patched platform).
func (b *builder) reportsFor(p ocispecs.Platform) []loadedReport {
	var out []loadedReport
	for _, r := range b.reports {
		if r.appliesTo(p) {
			out = append(out, r)
		}
	}
	return out
}

func (r loadedReport) appliesTo(p ocispecs.Platform) bool {
	if bound := r.Platform; bound != "" {
		return bound == platforms.Format(platforms.Normalize(p))
	}
	return r.Arch == "" || sameArch(r.Arch, p)
}

// checkReportPlatforms fails the build on a report that can apply to no
// platform the build patches: an unbound scan of another architecture, or
// a --platform the image does not have. A report bound to a platform the
// image has but the build does not patch (--platform chose others) is
// simply not used, so one Patchfile can bind a report to every platform.
func (b *builder) checkReportPlatforms(src *source, jobs []job) error {
	var patched []string
	for _, j := range jobs {
		if j.patch {
			patched = append(patched, platforms.Format(j.sp.Platform))
		}
	}
	for _, r := range b.reports {
		if slices.ContainsFunc(jobs, func(j job) bool { return j.patch && r.appliesTo(j.sp.Platform) }) {
			continue
		}
		if r.Platform != "" {
			if msg := boundToMissing(src, r); msg != "" {
				return atLine(errors.New(msg), r.Location)
			}
			continue
		}
		return atLine(errors.Errorf("REPORT %s is a scan of linux/%s, but the build patches %s: scan a platform that is patched, bind the report with REPORT --platform, or patch that platform (--platform)", r.Path, r.Arch, strings.Join(patched, ", ")), r.Location)
	}
	return nil
}

// boundToMissing says why a report bound with REPORT --platform names a
// platform the image does not have, "" when the image has it.
func boundToMissing(src *source, r loadedReport) string {
	if _, ok := src.find(platforms.MustParse(r.Platform)); ok {
		return ""
	}
	return fmt.Sprintf("REPORT %s is bound to %s, which %s does not have (it has %s)", r.Path, r.Platform, src.Name, src.platformList())
}

// sameArch compares a report's "arch[/variant]" with a platform; a report
// without a variant matches every variant.
func sameArch(reportArch string, p ocispecs.Platform) bool {
	arch, variant, _ := strings.Cut(reportArch, "/")
	rp := platforms.Normalize(ocispecs.Platform{OS: p.OS, Architecture: arch, Variant: variant})
	np := platforms.Normalize(p)
	return rp.Architecture == np.Architecture && (variant == "" || rp.Variant == np.Variant)
}

func orLinux(os string) string {
	if os == "" {
		return "linux"
	}
	return os
}
