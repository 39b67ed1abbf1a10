package rpm

import (
	"strings"
	"testing"

	"github.com/copa/frontend/distros"
)

func TestCheckSources(t *testing.T) {
	tests := []struct {
		name, data, err string
	}{
		{"mirror.repo", "[baseos]\nname=BaseOS\nbaseurl=https://satellite.example/pulp/baseos\n  https://satellite2.example/pulp/baseos\ngpgcheck=1\n\n[appstream]\nmirrorlist=https://m.example/list\n", ""},
		{"mirror.list", "[x]\nbaseurl=http://x\n", "must end in .repo"},
		{"mirror.repo", "baseurl=http://x\n", "outside any [repository] section"},
		{"mirror.repo", "[x]\nname=x\n", `repository "x" has no baseurl`},
		{"mirror.repo", "[x y]\nbaseurl=http://x\n", "line 1"},
		{"mirror.repo", "[main]\nbaseurl=http://x\n", "not a repository section"},
		{"mirror.repo", "# nothing\n", "no [repository] section"},
		{"mirror.repo", "[x]\n$(id)\n", "not KEY=VALUE"},
	}
	for _, tt := range tests {
		err := Format{}.CheckSources(distros.Sources{Name: tt.name, Data: []byte(tt.data)})
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%s %q: %v", tt.name, tt.data, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s %q: error %v, want %q", tt.name, tt.data, err, tt.err)
		}
	}
}
