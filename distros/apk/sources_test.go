package apk

import (
	"strings"
	"testing"

	"github.com/copa/frontend/distros"
)

func TestCheckSources(t *testing.T) {
	tests := []struct {
		name, data, err string
	}{
		{"mirror.list", "# corp mirror\nhttps://nexus.example/repository/alpine/v3.21/main\nhttps://nexus.example/repository/alpine/v3.21/community\n", ""},
		{"mirror.list", "@edge http://dl-cdn.alpinelinux.org/alpine/edge/testing\n/media/cdrom/apks\n\nfile:///srv/apk\n", ""},
		{"mirror.list", "http://127.0.0.1:8093/repo", ""}, // no final newline
		{"mirror.repositories", "http://x/main\n", "must end in .list"},
		{"repositories", "http://x/main\n", "must end in .list"},
		{"mirror.list", "# only a comment\n\n", "names no repository"},
		{"mirror.list", "http://x/main\n  http://y/main\n", "line 2"},
		{"mirror.list", "http://x/main \n", "blanks around the repository"},
		{"mirror.list", "   \n", "line 1"},
		{"mirror.list", "  # an indented comment\n", "blanks around"},
		{"mirror.list", "http://x/main\r\n", "line 1"},
		{"mirror.list", "v2 http://x/alpine main\n", "more than one word"},
		{"mirror.list", "set -default ALPINE_VERSION=3.21\n", "more than one word"},
		{"mirror.list", "@edge\n", `not "@TAG URL"`},
		{"mirror.list", "@ed$ge http://x\n", `not "@TAG URL"`},
		{"mirror.list", "relative/path\n", "not a repository URL"},
		{"mirror.list", "gopher://x/main\n", "not a repository URL"},
		{"mirror.list", "$(reboot)\n", "line 1"},
		{"mirror.list", "http://x/\x01\n", "control character"},
		{"mirror.list", "http://x/main\x00", "not a text file"},
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
