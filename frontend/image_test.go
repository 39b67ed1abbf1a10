package frontend

import (
	"encoding/json"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
)

// TestPatchedConfigLabels: the patch labels name the base; a base without
// a digest (another build's result) drops the digest label it inherited,
// which named its own base, and fields the frontend does not know stay.
func TestPatchedConfigLabels(t *testing.T) {
	raw := []byte(`{"architecture":"amd64","os":"linux","x-unknown":{"a":1},"config":{"Labels":{"keep":"1","` + LabelBaseDigest + `":"sha256:old","` + LabelBaseName + `":"docker.io/library/old:1"}},"rootfs":{"type":"layers","diff_ids":[]}}`)
	tests := []struct {
		name, digest, wantDigest string
	}{
		{"pinned", testDigest, testDigest},
		{"built", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := &baseImage{Name: "docker.io/library/app:latest", RawConfig: raw}
			base.Digest = digest.Digest(tt.digest)
			if err := json.Unmarshal(raw, &base.Config); err != nil {
				t.Fatal(err)
			}
			dt, err := patchedConfig(base, "copa/frontend: test", time.Unix(0, 0).UTC())
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Unknown map[string]int `json:"x-unknown"`
				Config  struct{ Labels map[string]string }
			}
			if err := json.Unmarshal(dt, &got); err != nil {
				t.Fatal(err)
			}
			l := got.Config.Labels
			d, has := l[LabelBaseDigest]
			if d != tt.wantDigest || has != (tt.wantDigest != "") {
				t.Errorf("%s = %q (set: %v), want %q", LabelBaseDigest, d, has, tt.wantDigest)
			}
			if l[LabelBaseName] != base.Name || l["keep"] != "1" || l[LabelPatched] != "true" {
				t.Errorf("labels = %v", l)
			}
			if got.Unknown["a"] != 1 {
				t.Errorf("the unknown field was not kept: %s", dt)
			}
		})
	}
}
