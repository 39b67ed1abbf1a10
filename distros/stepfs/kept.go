package stepfs

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
)

// Kept counts what a step gave back its original metadata, so that it
// stays out of the layer: the packages it looked at, and the files and
// bytes it kept.
type Kept struct {
	Packages, Files int
	Bytes           int64
}

// Keep gives p in target the metadata m (KeepMetaAs) and counts it when
// it was kept.
func (k *Kept) Keep(m Meta, target *os.Root, p string) error {
	n, err := KeepMetaAs(m, target, p)
	if err != nil {
		return err
	}
	if n >= 0 {
		k.Files++
		k.Bytes += n
	}
	return nil
}

// WithParents returns the slash paths with each of their parent
// directories (not "."), each once, in the order first met.
func WithParents(paths []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range paths {
		for d := p; d != "." && d != "/" && !seen[d]; d = path.Dir(d) {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

// ReadJSON reads the JSON file name into v, refusing one of more than max
// bytes: the records a step's helper writes at its start and reads back
// at its end.
func ReadJSON(name string, max int64, v any) error {
	fi, err := os.Stat(name)
	if err != nil {
		return err
	}
	if fi.Size() > max {
		return fmt.Errorf("%s: %d bytes, more than %d", name, fi.Size(), max)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// Log says on the step's log what was kept.
func (k Kept) Log() {
	fmt.Printf("copa: %d file(s) of %d upgraded package(s) are unchanged (%.1f MiB): they keep the original's metadata and stay out of the patch layer\n",
		k.Files, k.Packages, float64(k.Bytes)/(1<<20))
}
