package distros

// Clip shortens untrusted text quoted in an error message, so that a hostile
// report cannot flood the build output.
func Clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
