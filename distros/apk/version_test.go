package apk

import (
	"strings"
	"testing"
)

func TestCompare(t *testing.T) {
	// Pairs from apk-tools' own test data (test/version.data) and its
	// version.c rules, as `apk version -t a b` orders them.
	tests := []struct {
		a, b string
		want int
	}{
		{"1.36.1-r15", "1.36.1-r15", 0},
		{"1.36.1-r15", "1.36.1-r17", -1},
		{"3.3.2-r4", "3.3.2-r5", -1},
		{"3.3.2-r5", "3.3.3-r0", -1},
		{"1.0.4-r3", "1.0.4-r4", -1},
		{"2.2.39-r1", "1.0.4-r3", 1},
		{"1.2.10-r0", "1.2.9-r0", 1},     // numeric order
		{"1.0", "1.0-r0", -1},            // a revision, even r0, sorts after none
		{"1.2.3_rc1-r0", "1.2.3-r0", -1}, // _rc is a pre-release
		{"1.1_alpha1", "1.1", -1},
		{"1.0_alpha", "1.0_beta", -1},
		{"1.0_beta", "1.0_pre", -1},
		{"1.0_pre", "1.0_rc", -1},
		{"0.8_beta1", "0.8_beta2", -1},
		{"1.2.3_p1-r0", "1.2.3-r0", 1}, // _p is a patch level after the release
		{"3.1_p16", "3.1_p17", -1},
		{"4.2.52_p2-r1", "4.2.52_p4-r2", -1},
		{"1.0_git20230101", "1.0_p1", -1}, // post suffixes: cvs < svn < git < hg < p
		{"2.3.0b-r1", "2.3.0b-r2", -1},
		{"1.0a", "1.0", 1}, // a letter sorts after the bare number
		{"1.0a", "1.0b", -1},
		{"0.1.0_alpha2", "0.1.0_alpha", 1},
		{"20050718-r1", "20050718-r2", -1},
	}
	for _, tt := range tests {
		if got := (Versioning{}).Compare(tt.a, tt.b); got != tt.want {
			t.Errorf("Compare(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := (Versioning{}).Compare(tt.b, tt.a); got != -tt.want {
			t.Errorf("Compare(%q, %q) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
	}
}

func TestValidName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"busybox", true},
		{"libcrypto3", true},
		{"musl-utils", true},
		{"libstdc++", true},
		{"py3-setuptools", true},
		{"gtk+3.0", true},
		{"7zip", true},
		{"so:libc.musl-x86_64.so.1", false}, // a provides, not a name
		{"-X", false},                       // option injection
		{"--allow-untrusted", false},
		{"Busybox", false},
		{"foo bar", false},
		{"foo;id", false},
		{"foo=1.0", false}, // a constraint, not a name
		{"../etc", false},
		{"fü", false},
		{strings.Repeat("a", 257), false},
		{"", false},
		{strings.Repeat("a", 256), true},
		{"ssl_client", true},
		{"a..b", true}, // no '/', so no path

		// Options of apk (and of the shell's tools).
		{"-x", false},
		{"-", false},
		{"--", false},
		{"--force-broken-world", false},
		// Dependency constraints: apk add reads "name<op>version" as one.
		{"foo>=0", false},
		{"foo>1", false},
		{"foo<1", false},
		{"foo<=1", false},
		{"foo=1", false},
		{"foo~1", false},
		{"foo=~1", false},
		{"foo><1", false},
		{"!foo", false}, // a conflict
		// Paths: apk add reads them as .apk files.
		{"./x", false},
		{"../x", false},
		{".", false},
		{"..", false},
		{".x", false},
		{"a/b", false},
		{"/x", false},
		{"x.apk/", false},
		// Repository tags: apk add pins "name@tag" to a tagged repository.
		{"foo@edge", false},
		{"foo@", false},
		{"@edge", false},
		// Shell words.
		{"a;b", false},
		{"$(x)", false},
		{"`x`", false},
		{"${x}", false},
		{"a b", false},
		{" a", false},
		{"a\tb", false},
		{"a\nb", false},
		{"'a'", false},
		{`"a"`, false},
		{"a|b", false},
		{"a&b", false},
		{"a>b", false},
		{"a*", false},
		{"a?", false},
		{"a#b", false},
		{"a\\b", false},
		{"a,b", false},
		{"a\x00", false},
	}
	for _, tt := range tests {
		err := (Versioning{}).ValidName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("ValidName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestValidVersion(t *testing.T) {
	tests := []struct {
		v  string
		ok bool
	}{
		{"1.36.1-r15", true},
		{"3.3.3-r0", true},
		{"1.2.5-r9", true},
		{"2.3.0b-r1", true},
		{"1.2.3_rc1-r0", true},
		{"0.1.0_alpha_pre2", true},
		{"4.2.52_p2-r1", true},
		{"1.0_git20230101-r3", true},
		{"20221118", true},
		{"1.0bc", false},   // one letter at most
		{"1.0_foo", false}, // unknown suffix
		{"1.0-r", false},   // revision without number
		{"1.0-x1", false},  // only -r revisions
		{"1.0-r1-r2", false},
		{"v1.0", false},
		{"1.0 ", false},
		{"1.0;id", false},
		{"1.0-r1$(x)", false},
		{"1.0-rü", false},
		{"1:1.0-r0", false}, // no epochs in apk
		{strings.Repeat("1", 257), false},
		{"", false},
	}
	for _, tt := range tests {
		err := (Versioning{}).ValidVersion(tt.v)
		if (err == nil) != tt.ok {
			t.Errorf("ValidVersion(%q) = %v, want ok=%v", tt.v, err, tt.ok)
		}
	}
}
