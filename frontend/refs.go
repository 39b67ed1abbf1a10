package frontend

import (
	"context"
	"path"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/pkg/errors"

	"github.com/copa/frontend/distros"
)

// refFS reads a solved filesystem through the gateway, so the frontend can
// inspect an image without running anything in it.
type refFS struct{ ref client.Reference }

var _ distros.FS = refFS{}

func (f refFS) ReadFile(ctx context.Context, p string) ([]byte, error) {
	return dockerui.ReadFile(ctx, f.ref, p)
}

func (f refFS) ReadDir(ctx context.Context, dir string) ([]string, error) {
	if ok, err := f.Exists(ctx, dir); err != nil || !ok {
		return nil, err
	}
	st, err := f.ref.ReadDir(ctx, client.ReadDirRequest{Path: dir})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(st))
	for _, s := range st {
		names = append(names, path.Base(s.Path))
	}
	return names, nil
}

// Exists lists the parent directory instead of trusting a stat error: the
// gateway does not say whether a failed stat means "not there".
func (f refFS) Exists(ctx context.Context, p string) (bool, error) {
	p = path.Clean("/" + p)
	if p == "/" {
		return true, nil
	}
	dir, base := path.Split(p)
	if ok, err := f.Exists(ctx, dir); err != nil || !ok {
		return false, err
	}
	st, err := f.ref.ReadDir(ctx, client.ReadDirRequest{Path: dir, IncludePattern: base})
	if err != nil {
		return false, err
	}
	for _, s := range st {
		if path.Base(s.Path) == base {
			return true, nil
		}
	}
	return false, nil
}

// solve evaluates st and returns its filesystem.
func (b *builder) solve(ctx context.Context, st llb.State, opts ...llb.ConstraintsOpt) (client.Reference, error) {
	def, err := st.Marshal(ctx, opts...)
	if err != nil {
		return nil, errors.Wrap(err, "marshalling LLB")
	}
	res, err := b.c.Solve(ctx, client.SolveRequest{Definition: def.ToPB(), CacheImports: b.bc.CacheImports})
	if err != nil {
		return nil, err
	}
	return res.SingleRef()
}
