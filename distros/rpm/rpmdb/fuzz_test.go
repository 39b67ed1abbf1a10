package rpmdb

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzParseManifest checks ParseManifest's round trip: the headers read
// from any manifest it accepts, written back with ManifestLine, read as
// the same headers. `make fuzz` runs it; crashers found land in
// testdata/fuzz/FuzzParseManifest/ and are replayed by every `go test`.
func FuzzParseManifest(f *testing.F) {
	for _, s := range []string{
		"bash\t5.1.8-4.cm2\t1700000000\t1690000000\tMicrosoft Corporation\t(none)\t7000000\tx86_64\t0\tbash-5.1.8-4.cm2.src.rpm\n" +
			"gpg-pubkey\t3135ce90-5e6fd17f\t1700000000\t1690000000\t(none)\t(none)\t0\t(none)\t0\t(none)\n",
		"openssl\t1.1.1k-28.cm2\t1\t2\tv\t(none)\t3\taarch64\t1\topenssl-1.1.1k-28.cm2.src.rpm",
		"\n\n  \nx\t1-1\t0\t0\t\t(none)\t0\tnoarch\t007\t\r\n",
		"x\t1-1-1\t0\t0\tv\t(none)\t0\ta\t0\ts\n",
		"x\t1\t0\t0\tv\t(none)\t0\ta\t-1\ts\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		hs, err := ParseManifest(data)
		if err != nil {
			return
		}
		lines := make([]string, len(hs))
		for i, h := range hs {
			if h.Name == "" || h.Version == "" || h.Release == "" || h.Epoch < 0 || h.HasEpoch != (h.Epoch != 0) {
				t.Fatalf("header %+v", h)
			}
			lines[i] = ManifestLine(h)
		}
		again, err := ParseManifest([]byte(strings.Join(lines, "\n")))
		if err != nil || !reflect.DeepEqual(again, hs) {
			t.Fatalf("written back as %q, %d headers read as %+v (%v), want %+v", lines, len(hs), again, err, hs)
		}
	})
}
