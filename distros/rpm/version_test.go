package rpm

import (
	"strings"
	"testing"
)

func TestCompare(t *testing.T) {
	// Pairs checked against rpm 4.18 (python3-rpm: rpm.labelCompare and
	// comparison of rpm.ver objects agree on every one).
	tests := []struct {
		a, b string
		want int
	}{
		{"1.0-1", "1.0-1", 0},
		{"0:1.2-3", "1.2-3", 0}, // Grype writes epoch 0, Trivy leaves it out
		{"0:0.7-21.el8_9.1", "0.7-20.el8", 1},
		{"1:1.0.2k-16.el7", "1:1.0.2k-19.el7", -1},
		{"1:1.0.2k-16.el7", "1.0.2l-1.el7", 1}, // epoch wins
		{"32:9.11.36-5.el8_7.2", "32:9.11.36-8.el8_8.1", -1},
		{"7.61.1-11.amzn2.0.2", "7.61.1-12.amzn2.0.1", -1},
		{"1.1.1k-4.el8", "1.1.1k-5.el8_5", -1},
		{"8.2.4081-1.cm1", "8.2.4082-1.cm1", -1},
		{"1.1.0i-lp151.8.3.1", "1.1.0i-lp151.8.6.1", -1},
		{"9.16.20-150400.3.6", "9.16.31-150400.5.6.1", -1},
		{"1.0~rc1-1", "1.0-1", -1}, // tilde sorts before the release
		{"1.0^git1-1", "1.0-1", 1}, // caret sorts after the base version
		{"1.0^git1-1", "1.0.1-1", -1},
		{"1.10-1", "1.9-1", 1}, // numeric, not string, order
		{"1.0a-1", "1.0-1", 1}, // more segments wins
		{"1.0-1.el8", "1.0-1.el8_5", -1},
		{"2.0-1", "2.0.0-1", -1},
		{"1.01-1", "1.1-1", 0},    // leading zeros are ignored
		{"1.0_1-1", "1.0.1-1", 0}, // separators do not count
		{"a-1", "1-1", -1},        // digits sort after letters
		{"1.2", "1.2-1", -1},      // a missing release sorts first
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
		{"openssl-libs", true},
		{"libstdc++", true},
		{"NetworkManager", true},
		{"perl-Digest-MD5", true},
		{"libopenssl1_1", true},
		{"python3.11", true},
		{"R", true},
		{"_x", true},
		{"-oAPT::x=1", false}, // option injection
		{"--best", false},
		{".hidden", false},
		{"foo..bar", false},
		{"foo bar", false},
		{"foo;rm -rf /", false},
		{"foo$(id)", false},
		{"foo:x86_64", false},
		{"foo/bar", false},
		{"pâté", false},
		{strings.Repeat("a", 257), false},
		{"", false},
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
		{"1:1.0.2k-19.el7", true},
		{"0:0.7-21.el8_9.1", true},
		{"7.61.1-12.amzn2.0.1", true},
		{"1.1.0i-lp151.8.6.1", true},
		{"2.0.0~rc1-1.fc40", true},
		{"1.0^20240101git1-1", true},
		{"8.2.4082-1.cm1", true},
		{"1.2", true},      // no release
		{"1.0-1-2", false}, // '-' separates version and release once
		{"x:1.0-1", false}, // bad epoch
		{":1.0-1", false},
		{"1.0-", false},
		{"-1", false},
		{"1..0-1", false},
		{"1.0 -1", false},
		{"1.0-1;id", false},
		{"1.0-1$(x)", false},
		{"1.0-ü", false},
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
