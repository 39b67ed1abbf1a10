package apkstep

import (
	"bytes"
	"strings"

	"github.com/copa/frontend/distros/apk"
)

// RestoreWorld returns the world file (/etc/apk/world) the patched image
// should have. apk add wrote the plan into the world as it ran ("NAME>=FIXED",
// and a package that was only a dependency became one the world asks
// for), which would make the image's world say what the patch asked for
// instead of what its builder did. So the original world is given back,
// byte for byte, unless one of its entries pins a package the patch
// upgraded to a version the entry no longer admits ("busybox=1.36.1-r15"):
// that entry is replaced by the patched world's entry of the package, so
// that the next apk run does not undo the patch. installed maps each
// upgraded package to its version after the patch.
func RestoreWorld(original, patched []byte, installed map[string]string) []byte {
	newEntry := map[string]string{}
	for _, e := range strings.Fields(string(patched)) {
		newEntry[depName(e)] = e
	}
	entries := strings.Fields(string(original))
	changed := false
	for i, e := range entries {
		v, upgraded := installed[depName(e)]
		if !upgraded || admits(e, v) {
			continue
		}
		if n, ok := newEntry[depName(e)]; ok && n != e {
			entries[i], changed = n, true
		}
	}
	if !changed {
		return original
	}
	var b bytes.Buffer
	for _, e := range entries {
		b.WriteString(e)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// comparers are the characters of a dependency's version operator
// (apk-tools' apk_spn_dependency_comparer).
const comparers = "<>=~"

// depName is the package a world entry names: [!]NAME[@TAG][OP VERSION].
func depName(e string) string {
	e = strings.TrimPrefix(e, "!")
	if i := strings.IndexAny(e, comparers); i >= 0 {
		e = e[:i]
	}
	name, _, _ := strings.Cut(e, "@")
	return name
}

// admits reports whether the world entry e accepts version v of its
// package. An entry without a version accepts any; a conflict ("!NAME")
// none; an operator this does not read (a checksum pin, "><") none, so that
// the patched entry replaces it.
func admits(e, v string) bool {
	if strings.HasPrefix(e, "!") {
		return false
	}
	i := strings.IndexAny(e, comparers)
	if i < 0 {
		return true
	}
	rest := e[i:]
	j := 0
	for j < len(rest) && strings.IndexByte(comparers, rest[j]) >= 0 {
		j++
	}
	op, want := rest[:j], rest[j:]
	vs := apk.Versioning{}
	if vs.ValidVersion(want) != nil {
		return false
	}
	c := vs.Compare(v, want)
	switch op {
	case "=":
		return c == 0
	case "<":
		return c < 0
	case "<=", "=<":
		return c <= 0
	case ">":
		return c > 0
	case ">=", "=>":
		return c >= 0
	case "~", "=~", "~=":
		// Fuzzy: the version starts with the wanted one, as 1.2 admits
		// 1.2.3-r0.
		return c == 0 || strings.HasPrefix(v, want)
	}
	return false
}
