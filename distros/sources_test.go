package distros_test

import (
	"strings"
	"testing"

	"github.com/copa/frontend/distros"
)

func TestValidSourcesName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"mirror.sources", true},
		{"corp-mirror_1.list", true},
		{".sources", false},
		{"-.list", false},
		{"-o.sources", false},
		{"_corp.list", true},
		{"../x.list", false},
		{"sub/x.list", false},
		{"x y.list", false},
		{"x.list;rm", false},
		{"mirror.repo", false},
		{"", false},
	}
	for _, tt := range tests {
		err := distros.ValidSourcesName(tt.name, "list", "sources")
		if (err == nil) != tt.ok {
			t.Errorf("%q: error %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestFailureError(t *testing.T) {
	tests := []struct {
		f    distros.Failure
		want string
	}{
		{distros.Failure{URL: "http://m/debian/dists/bookworm/InRelease", Reason: "401  Unauthorized", Secret: "apt-auth"}, "refused access (401 Unauthorized): give its credentials with --secret id=apt-auth,src=FILE"},
		{distros.Failure{URL: "https://m/repo/repodata/repomd.xml", Reason: "403 Forbidden", Secret: "repo-auth"}, "--secret id=repo-auth,src=FILE"},
		{distros.Failure{URL: "https://m/debian", Reason: "Certificate verification failed: The certificate is NOT trusted.", Secret: "apt-auth"}, "--secret id=ca,src=FILE"},
		{distros.Failure{URL: "http://127.0.0.1:9/debian", Reason: "Could not connect to 127.0.0.1:9 (127.0.0.1). - connect (111: Connection refused)", Secret: "apt-auth"}, "could not be fetched (Could not connect"},
	}
	for _, tt := range tests {
		if got := tt.f.Error(); !strings.Contains(got, tt.want) || !strings.Contains(got, tt.f.URL) {
			t.Errorf("%+v: %q, want it to name the URL and say %q", tt.f, got, tt.want)
		}
	}
}
