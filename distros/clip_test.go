package distros_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/copa/frontend/distros"
)

func TestClip(t *testing.T) {
	for _, s := range []string{
		"short",
		strings.Repeat("a", 80),
		strings.Repeat("a", 79) + "é" + "tail",     // 'é' spans bytes 79 and 80
		strings.Repeat("€", 40),                    // 3-byte runes
		strings.Repeat("a", 78) + "\U0001F600tail", // a 4-byte rune across the cut
	} {
		got := distros.Clip(s)
		if !utf8.ValidString(got) {
			t.Errorf("Clip(%q) = %q is not valid UTF-8", s, got)
		}
		if len(s) <= 80 && got != s || len(s) > 80 && (!strings.HasSuffix(got, "…") || len(got) > 80+len("…") || !strings.HasPrefix(s, strings.TrimSuffix(got, "…"))) {
			t.Errorf("Clip(%q) = %q", s, got)
		}
	}
}
