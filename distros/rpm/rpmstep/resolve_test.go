package rpmstep

import (
	"reflect"
	"strings"
	"testing"

	"github.com/copa/frontend/distros"
)

func TestParseCandidates(t *testing.T) {
	tests := []struct {
		format, in string
		want       []Candidate
	}{
		{FormatQF, "openssl-libs 1:3.0.7-28.el9_4 x86_64\nopenssl-libs 1:3.0.7-28.el9_4 i686\ncurl 0:7.76.1-29.el9_4 x86_64\n",
			[]Candidate{{"openssl-libs", "1:3.0.7-28.el9_4", "x86_64"}, {"openssl-libs", "1:3.0.7-28.el9_4", "i686"}, {"curl", "7.76.1-29.el9_4", "x86_64"}}},
		{FormatQF, "Last metadata expiration check: 0:00:01 ago.\ncurl (none):7.76.1-29 x86_64\n",
			[]Candidate{{"curl", "7.76.1-29", "x86_64"}}},
		{FormatList, "Available Packages\nopenssl-libs.x86_64   1:1.0.2k-26.el7_9   updates\nbash.x86_64 4.2.46-35.el7_9 updates\n",
			[]Candidate{{"openssl-libs", "1:1.0.2k-26.el7_9", "x86_64"}, {"bash", "4.2.46-35.el7_9", "x86_64"}}},
		{FormatNEVRA, "openssl-libs-1:3.0.7-28.el9_4.x86_64\ncurl-minimal-7.76.1-29.el9_4.x86_64\n",
			[]Candidate{{"openssl-libs", "1:3.0.7-28.el9_4", "x86_64"}, {"curl-minimal", "7.76.1-29.el9_4", "x86_64"}}},
		{FormatTable, "S  | Name      | Type    | Version | Arch   | Repository\n---+-----------+---------+---------+--------+-----------\nv  | copa-tool | package | 2.0-2   | x86_64 | copa-test\ni+ | copa-tool | package | 2.0-1   | x86_64 | (System Packages)\n   | copa-tool | srcpackage | 2.0-2 | noarch | copa-test\n",
			[]Candidate{{"copa-tool", "2.0-2", "x86_64"}, {"copa-tool", "2.0-1", "x86_64"}}},
		// What rpm's grammar refuses is never a candidate.
		{FormatQF, "--oldpackage 1.0-1 x86_64\nfoo $(id) x86_64\nfoo 1.0-1;rm x86_64\n", nil},
	}
	for _, tt := range tests {
		got, err := ParseCandidates(tt.format, strings.NewReader(tt.in))
		if err != nil {
			t.Fatalf("%s: %v", tt.format, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s %q:\n got %v\nwant %v", tt.format, tt.in, got, tt.want)
		}
	}
	if _, err := ParseCandidates("json", strings.NewReader("")); err == nil {
		t.Error("an unknown format was accepted")
	}
}

func TestResolve(t *testing.T) {
	plan := []distros.Update{
		{Name: "openssl-libs", Fixed: "1:3.0.7-27.el9"},
		{Name: "curl", Fixed: "7.76.1-30.el9"},
		{Name: "absent", Fixed: "1.0-1"},
		{Name: "tilde", Fixed: "1.0-1"},
	}
	offered := []Candidate{
		{"openssl-libs", "1:3.0.7-28.el9_4", "x86_64"},
		{"openssl-libs", "1:3.0.7-25.el9", "x86_64"},
		{"curl", "7.76.1-29.el9_4", "x86_64"},
		{"tilde", "1.0~rc1-1", "noarch"},
	}
	got := Resolve(plan, offered)
	want := Resolution{
		Install: []Candidate{{Name: "openssl-libs", EVR: "1:3.0.7-28.el9_4"}},
		Unresolved: []distros.Unresolved{
			{Name: "curl", Want: "7.76.1-30.el9", Best: "7.76.1-29.el9_4"},
			{Name: "absent", Want: "1.0-1"},
			{Name: "tilde", Want: "1.0-1", Best: "1.0~rc1-1"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestParsePlan(t *testing.T) {
	got, err := ParsePlan([]byte("copa-tool 2.0-2\n\ncopa-libcore 1:1.1-1\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []distros.Update{{Name: "copa-tool", Fixed: "2.0-2"}, {Name: "copa-libcore", Fixed: "1:1.1-1"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v want %v", got, want)
	}
	for _, bad := range []string{"-x 1.0-1\n", "a 1.0-1 extra\n", "a $(id)\n", "a\n"} {
		if _, err := ParsePlan([]byte(bad)); err == nil {
			t.Errorf("plan %q was accepted", bad)
		}
	}
}
