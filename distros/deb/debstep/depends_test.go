package debstep

import (
	"slices"
	"testing"
)

func TestUnmetDepends(t *testing.T) {
	after := map[string]string{"libc6": "2.36-9+deb12u4", "libgcc-s1": "12.2.0-14", "zlib1g": "1:1.2.13.dfsg-1"}
	tests := []struct {
		name    string
		depends map[string][]string
		want    []string
		err     bool
	}{
		{name: "met", depends: map[string][]string{"libssl3": {"libc6 (>= 2.34)"}}},
		{name: "absent dependency is fine (distroless leaves it out)", depends: map[string][]string{"tzdata": {"debconf (>= 0.5) | debconf-2.0"}}},
		{name: "arch qualifier, arch list and profile", depends: map[string][]string{"x": {"libc6:amd64 (>= 2.14) [amd64 arm64] <!nocheck>, zlib1g (>= 1:1.1.4)"}}},
		{name: "too old", depends: map[string][]string{"libssl3": {"libc6 (>= 2.38), zlib1g (>= 1:1.2.0)"}},
			want: []string{"libssl3 needs libc6 (>= 2.38), the image has libc6 2.36-9+deb12u4"}},
		{name: "one present alternative satisfies", depends: map[string][]string{"x": {"libgcc1 (>= 9) | libgcc-s1 (>= 3.0)"}}},
		{name: "exact version of a sibling", depends: map[string][]string{"libc-bin": {"libc6 (= 2.36-9+deb12u10)"}},
			want: []string{"libc-bin needs libc6 (= 2.36-9+deb12u10), the image has libc6 2.36-9+deb12u4"}},
		{name: "strictly earlier", depends: map[string][]string{"x": {"libc6 (<< 2.37)"}}},
		{name: "garbage", depends: map[string][]string{"x": {"libc6 (>= "}}, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := UnmetDepends(tt.depends, after)
			if (err != nil) != tt.err {
				t.Fatalf("error %v, want error %v", err, tt.err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("unmet %q, want %q", got, tt.want)
			}
		})
	}
}
