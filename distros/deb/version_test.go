package deb

import "testing"

func TestCompare(t *testing.T) {
	// Pairs checked against dpkg --compare-versions.
	tests := []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0", 0},
		{"1.0-1", "1.0-2", -1},
		{"2.6.1", "2.6.1+deb12u1", -1},
		{"1:4.8.1-1", "4.13+dfsg1-1", 1}, // epoch wins
		{"1.0~rc1", "1.0", -1},           // tilde sorts before anything
		{"2024a-0+deb12u1", "2025b-0+deb12u1", -1},
		{"5.36.0-7+deb12u1", "5.36.0-7+deb12u2", -1},
		{"3.0.11-1~deb12u2", "3.0.11-1", -1},
		{"10.2", "9.9", 1},
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
		{"libssl3", true},
		{"libstdc++6", true},
		{"libapt-pkg6.0", true},
		{"g++", true},
		{"a", false},            // too short
		{"-oAPT::x=1", false},   // option injection
		{"Foo", false},          // upper case
		{"foo bar", false},      // space
		{"foo;rm -rf /", false}, // shell
		{"foo:amd64", false},    // arch qualifiers are not names
		{"../../etc", false},
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
		{"2.6.1+deb12u1", true},
		{"1:4.8.1-1", true},
		{"2025b-0+deb12u1", true},
		{"1.0~rc1-1", true},
		{"abc", false},       // must start with a digit
		{"1.0 ", false},      // no spaces, even trailing
		{"1.0;id", false},    // shell
		{"1.0-1$(x)", false}, // shell
		{"x:1.0", false},     // bad epoch
		{"1.0-ü", false},     // non-ASCII
		{"", false},
	}
	for _, tt := range tests {
		err := (Versioning{}).ValidVersion(tt.v)
		if (err == nil) != tt.ok {
			t.Errorf("ValidVersion(%q) = %v, want ok=%v", tt.v, err, tt.ok)
		}
	}
}
