// Package frontend is the gateway build function of copa/frontend: it reads
// the Patchfile and its reports, patches each target platform of the named
// image and returns the patched images with their configs.
package frontend

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/pkg/errors"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/all"
	"github.com/copa/frontend/frontend/patchfile"
)

// MemoryLimit is the soft memory limit (runtime/debug.SetMemoryLimit) the
// frontend's binary runs with, unless GOMEMLIMIT sets another. The
// frontend's memory goes with the report: reading a report of 100,000
// entries (42 MB) holds about 100 MiB live for a moment, and what comes
// after (the plan, the summary and its copies in the solve requests) much
// less. Without a limit the collector lets the heap grow to twice what is
// live; with it the collector runs as the heap nears the limit, and such a
// build peaks near 120 MiB, under 3× its report, for some more CPU
// (docs/benchmarks.md). It is soft: a build that needs more gets it, the
// collector taking at most half of the CPU.
const MemoryLimit = 96 << 20

// Build is the gateway build function. BuildKit calls it with the build's
// options; it returns one patched image per target platform.
func Build(ctx context.Context, c client.Client) (*client.Result, error) {
	return BuildWith(all.Registry)(ctx, c)
}

// BuildWith is the build function of a frontend that knows the formats
// and methods of reg.
func BuildWith(reg *distros.Registry) client.BuildFunc {
	return func(ctx context.Context, c client.Client) (*client.Result, error) {
		return build(ctx, c, reg)
	}
}

func build(ctx context.Context, c client.Client, reg *distros.Registry) (_ *client.Result, err error) {
	bc, err := dockerui.NewClient(c)
	if err != nil {
		return nil, err
	}
	src, err := bc.ReadEntrypoint(ctx, "Patchfile")
	if err != nil {
		return nil, err
	}
	// Errors that know their Patchfile line become BuildKit source errors,
	// which buildx prints with that line.
	defer func() {
		var el *parser.LocationError
		if errors.As(err, &el) {
			for _, l := range el.Locations {
				err = wrapSource(err, src.SourceMap, l)
			}
		}
	}()

	if res, ok, err := bc.HandleSubrequest(ctx, dockerui.RequestHandler{
		ListTargets: listTargets,
		Outline:     outlineHandler(src.Data, bc.BuildArgs),
		Lint:        checkHandler(c, bc, src, reg),
	}); err != nil || ok {
		return res, err
	}

	b, err := newBuilder(c, bc, src, reg)
	if err != nil {
		return nil, err
	}
	for _, w := range b.pf.Warnings {
		src.Warn(ctx, w.Message, warnOpts(w.Location))
	}
	target, err := b.target()
	if err != nil {
		return nil, err
	}
	if err := b.loadContextFiles(ctx); err != nil {
		return nil, err
	}
	if err := b.runChecks(ctx); err != nil {
		return nil, err
	}

	img, err := b.resolveSource(ctx)
	if err != nil {
		return nil, err
	}
	jobs, err := b.choosePlatforms(ctx, img)
	if err != nil {
		return nil, err
	}
	if err := b.checkReportPlatforms(img, jobs); err != nil {
		return nil, err
	}
	results := make([]*platformResult, len(jobs))
	eg, ectx := errgroup.WithContext(ctx)
	for i, j := range jobs {
		eg.Go(func() error {
			r, err := b.runJob(ectx, img, j)
			results[i] = r
			return err
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	return b.assemble(ctx, target, img, results)
}

// newBuilder parses the Patchfile and the build args: what a build and
// --call check share.
func newBuilder(c client.Client, bc *dockerui.Client, src *dockerui.Source, reg *distros.Registry) (*builder, error) {
	pf, err := patchfile.Parse(src.Data, bc.BuildArgs)
	if err != nil {
		return nil, err
	}
	opts, err := parseOptions(bc.BuildArgs, pf, time.Now())
	if err != nil {
		return nil, err
	}
	return &builder{c: c, bc: bc, src: src, pf: pf, reg: reg, opts: opts, started: time.Now()}, nil
}

// builder carries what every platform's patch shares.
type builder struct {
	c       client.Client
	bc      *dockerui.Client
	src     *dockerui.Source
	pf      *patchfile.Patchfile
	reg     *distros.Registry
	opts    *options
	reports []loadedReport
	// sources is the SOURCES file, nil without one.
	sources *distros.Sources

	// started is when the build began: a step's failure from before it
	// is an earlier build's, answered from the cache.
	started time.Time

	helperOnce sync.Once
	helper     *llb.State
	helperErr  error
}
