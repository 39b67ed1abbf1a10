package frontend

import (
	"context"
	"fmt"
	"path"
	"strings"
	"sync"

	"github.com/moby/buildkit/client/llb"
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

// ReadFile reads a file in chunks, because one gateway message cannot
// carry more than 16 MiB, and refuses one larger than limit.
func (f *refFS) ReadFile(ctx context.Context, p string, limit int64) ([]byte, error) {
	f.mu.Lock()
	dt, ok := f.files[p]
	f.mu.Unlock()
	if ok {
		if int64(len(dt)) > limit {
			return nil, tooLarge(p, limit)
		}
		return dt, nil
	}
	dt, err := readBounded(ctx, f.ref, p, limit)
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
	// The include pattern narrows the listing to the one name; a name
	// that is itself a pattern ('*', '?', '[', '\') would match others or
	// none, so its directory is listed whole.
	req := client.ReadDirRequest{Path: dir}
	if !strings.ContainsAny(base, `*?[\\`) {
		req.IncludePattern = base
	}
	st, err := f.ref.ReadDir(ctx, req)
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

// readChunk is how much of a file one gateway call reads: a gRPC message
// cannot carry more than 16 MiB.
const readChunk = 8 << 20

// readBounded reads a file in chunks, refusing one larger than limit.
//
// The buffer is sized from the file's stat when there is one: growing it by
// appending would hold the old and the new buffer at once, up to twice a
// large report's size, and the memory bound on reports counts from it.
func readBounded(ctx context.Context, ref client.Reference, p string, limit int64) ([]byte, error) {
	var out []byte
	if st, err := ref.StatFile(ctx, client.StatRequest{Path: p}); err == nil && st.Size > 0 {
		if st.Size > limit {
			return nil, tooLarge(p, limit)
		}
		out = make([]byte, 0, st.Size)
	}
	for {
		dt, err := ref.ReadFile(ctx, client.ReadRequest{Filename: p, Range: &client.FileRange{Offset: len(out), Length: readChunk}})
		if err != nil {
			return nil, err
		}
		out = append(out, dt...)
		if int64(len(out)) > limit {
			return nil, tooLarge(p, limit)
		}
		if len(dt) < readChunk {
			return out, nil
		}
	}
}

func tooLarge(p string, limit int64) error {
	return errors.Errorf("%s is larger than %s, the most the frontend reads of it", p, humanBytes(limit))
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// solve evaluates st and returns its filesystem.
func (b *builder) solve(ctx context.Context, st llb.State, opts ...llb.ConstraintsOpt) (client.Reference, error) {
	def, err := st.Marshal(ctx, opts...)
	if err != nil {
		return nil, errors.Wrap(err, "marshalling LLB")
	}
	// Evaluate: a lazy solve would fail only at the first read of the
	// ref, far from what the frontend was doing, and the read's error
	// would carry none of the frontend's words.
	res, err := b.c.Solve(ctx, client.SolveRequest{Definition: def.ToPB(), CacheImports: b.bc.CacheImports, Evaluate: true})
	if err != nil {
		return nil, err
	}
	return res.SingleRef()
}
