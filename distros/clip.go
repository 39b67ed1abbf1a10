package distros

import "unicode/utf8"

// clipLen is how many bytes of an untrusted string messages quote.
const clipLen = 80

// Clip shortens an untrusted string for an error message. It cuts at a
// character boundary, so the message stays valid UTF-8.
func Clip(s string) string {
	if len(s) <= clipLen {
		return s
	}
	cut := clipLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
