package frontend_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestHarnessDataHelpers checks the helpers of harnessdata_integration_test.go
// on hand-made data; it needs no harness.
func TestHarnessDataHelpers(t *testing.T) {
	report := `{"Results": [{"Vulnerabilities": [
  {"PkgName": "zz", "FixedVersion": "2"}, {"PkgName": "aa", "FixedVersion": ""},
  {"PkgName": "mm", "FixedVersion": "1, 2"}, {"PkgName": "zz", "FixedVersion": "3"}, {"PkgName": "aa", "FixedVersion": "4"}]}]}`
	if got, want := reportFixOrder(t, report), []string{"zz", "mm", "aa"}; !slices.Equal(got, want) {
		t.Errorf("reportFixOrder = %q, want %q", got, want)
	}
	if got := skippedWarning(nil); got != "" {
		t.Errorf("skippedWarning(nil) = %q", got)
	}
	var names []string
	for i := range 12 {
		names = append(names, fmt.Sprintf("p%d", i))
	}
	if got, want := skippedWarning(names[:2]), "2 package(s) in the report are not installed in the image and were skipped: p0, p1"; got != want {
		t.Errorf("skippedWarning = %q, want %q", got, want)
	}
	if got, want := skippedWarning(names), "12 package(s) in the report are not installed in the image and were skipped: "+
		strings.Join(names[:10], ", ")+" and 2 more"; got != want {
		t.Errorf("skippedWarning = %q, want %q", got, want)
	}

	// lib and lib-bin share a source; app's new version needs a newer
	// libdep but only some version of libany; other and libany moved on
	// their own.
	base := `Package: lib
Version: 1.0-1

Package: lib-bin
Source: lib (1.0-1)
Version: 1:1.0-1
Description: x
 more

Package: libdep
Version: 2.0

Package: libany
Version: 1

Package: app
Version: 1
Depends: libany

Package: other
Version: 1
`
	patched := `Package: lib
Version: 1.0-2

Package: lib-bin
Source: lib (1.0-2)
Version: 1:1.0-2

Package: libdep
Version: 2.1

Package: libany
Version: 2

Package: app
Version: 2
Depends: lib (>= 1.0-2), libany (>= 1)
Pre-Depends: libdep (>= 2.1) | nothing

Package: other
Version: 2
`
	upgraded := []string{"app", "lib", "lib-bin", "libany", "libdep", "other"}
	need := neededUpgrades(t, []byte(base), []byte(patched), map[string]string{"app": "2"}, upgraded)
	for name, want := range map[string]bool{"app": true, "lib": true, "lib-bin": false, "libdep": true, "libany": false, "other": false} {
		if need[name] != want {
			t.Errorf("reporting app: needed[%s] = %v, want %v", name, need[name], want)
		}
	}
	need = neededUpgrades(t, []byte(base), []byte(patched), map[string]string{"lib": "1.0-2"}, upgraded)
	for name, want := range map[string]bool{"lib": true, "lib-bin": true, "app": false, "libdep": false} {
		if need[name] != want {
			t.Errorf("reporting lib: needed[%s] = %v, want %v", name, need[name], want)
		}
	}
}
