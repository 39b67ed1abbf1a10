package frontend

import (
	"context"
	"path"
	"sync"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/pkg/errors"

	"github.com/copa/frontend/distros"
)

// refFS reads a solved filesystem through the gateway, so the frontend can
// inspect an image without running anything in it. It remembers what it
// read: families each look at the same files (the dpkg database, the
// shell, apt-get) and every read is a round trip to the daemon, while the
// filesystem of a solved ref never changes.
type refFS struct {
	ref    client.Reference
	mu     sync.Mutex
	files  map[string][]byte
	exists map[string]bool
}

var _ distros.FS = (*refFS)(nil)

func newRefFS(ref client.Reference) *refFS {
	return &refFS{ref: ref, files: map[string][]byte{}, exists: map[string]bool{}}
}

func (f *refFS) ReadFile(ctx context.Context, p string) ([]byte, error) {
	f.mu.Lock()
	dt, ok := f.files[p]
	f.mu.Unlock()
	if ok {
		return dt, nil
	}
	dt, err := dockerui.ReadFile(ctx, f.ref, p)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.files[p] = dt
	f.mu.Unlock()
	return dt, nil
}

func (f *refFS) ReadDir(ctx context.Context, dir string) ([]string, error) {
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
func (f *refFS) Exists(ctx context.Context, p string) (bool, error) {
	p = path.Clean("/" + p)
	if p == "/" {
		return true, nil
	}
	f.mu.Lock()
	ok, known := f.exists[p]
	f.mu.Unlock()
	if known {
		return ok, nil
	}
	ok, err := f.lookup(ctx, p)
	if err != nil {
		return false, err
	}
	f.mu.Lock()
	f.exists[p] = ok
	f.mu.Unlock()
	return ok, nil
}

func (f *refFS) lookup(ctx context.Context, p string) (bool, error) {
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
