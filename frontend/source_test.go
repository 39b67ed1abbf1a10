package frontend

import (
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestFromIndex(t *testing.T) {
	amd64 := &ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	arm64v8 := &ocispecs.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
	att := &ocispecs.Platform{OS: "unknown", Architecture: "unknown"}
	manifest := func(p *ocispecs.Platform, hex string) ocispecs.Descriptor {
		return ocispecs.Descriptor{MediaType: ocispecs.MediaTypeImageManifest, Digest: digest.Digest("sha256:" + strings.Repeat(hex, 64)), Platform: p}
	}
	tests := []struct {
		name string
		idx  ocispecs.Index
		want []string
		err  string
	}{
		{
			name: "attestation manifests are left out; arm64/v8 is arm64",
			idx: ocispecs.Index{Manifests: []ocispecs.Descriptor{manifest(amd64, "a"), manifest(arm64v8, "b"),
				{MediaType: ocispecs.MediaTypeImageManifest, Digest: digest.Digest("sha256:" + strings.Repeat("c", 64)), Platform: att,
					Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest"}}}},
			want: []string{"linux/amd64", "linux/arm64"},
		},
		{
			name: "Docker manifests count, nested indexes and platformless entries do not",
			idx: ocispecs.Index{Manifests: []ocispecs.Descriptor{
				{MediaType: "application/vnd.docker.distribution.manifest.v2+json", Digest: digest.Digest("sha256:" + strings.Repeat("a", 64)), Platform: amd64},
				{MediaType: ocispecs.MediaTypeImageIndex, Digest: digest.Digest("sha256:" + strings.Repeat("b", 64)), Platform: arm64v8},
				{MediaType: ocispecs.MediaTypeImageManifest, Digest: digest.Digest("sha256:" + strings.Repeat("c", 64))},
			}},
			want: []string{"linux/amd64"},
		},
		{
			name: "a second image of one platform is never the one pulled",
			idx:  ocispecs.Index{Manifests: []ocispecs.Descriptor{manifest(amd64, "a"), manifest(amd64, "b")}},
			want: []string{"linux/amd64"},
		},
		{
			name: "a platform that is not a word is refused",
			idx:  ocispecs.Index{Manifests: []ocispecs.Descriptor{manifest(&ocispecs.Platform{OS: "linux", Architecture: "amd64 -o Foo=1"}, "a")}},
			err:  "is not a valid os/arch",
		},
		{
			name: "an index of attestations only",
			idx:  ocispecs.Index{Manifests: []ocispecs.Descriptor{manifest(att, "a")}},
			err:  "the index lists no image with a platform",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &source{Name: "img", Platforms: []sourcePlatform{{Platform: *amd64, Config: []byte("{}")}}}
			err := src.fromIndex(&tt.idx)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := src.platformList(); got != strings.Join(tt.want, ", ") {
				t.Errorf("platforms %s, want %s", got, strings.Join(tt.want, ", "))
			}
			if !src.multi() || src.Index == nil {
				t.Error("a read index is multi-platform and kept")
			}
			// The config resolved first is kept for its platform.
			if sp, _ := src.find(*amd64); string(sp.Config) != "{}" || sp.Descriptor == nil {
				t.Errorf("linux/amd64: config %q, descriptor %v", sp.Config, sp.Descriptor)
			}
		})
	}
}

func TestSourceFind(t *testing.T) {
	src := &source{Platforms: []sourcePlatform{
		{Platform: ocispecs.Platform{OS: "linux", Architecture: "arm64"}},
		{Platform: ocispecs.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}},
	}}
	for _, tt := range []struct {
		p  ocispecs.Platform
		ok bool
	}{
		{ocispecs.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, true},
		{ocispecs.Platform{OS: "linux", Architecture: "arm"}, true}, // arm is arm/v7
		{ocispecs.Platform{OS: "linux", Architecture: "arm", Variant: "v6"}, false},
		{ocispecs.Platform{OS: "linux", Architecture: "amd64"}, false},
	} {
		if _, ok := src.find(tt.p); ok != tt.ok {
			t.Errorf("find(%v) = %v, want %v", tt.p, ok, tt.ok)
		}
	}
}

func TestProbeOrder(t *testing.T) {
	if probeRank(ocispecs.Platform{OS: "linux", Architecture: "amd64"}) >= probeRank(ocispecs.Platform{OS: "linux", Architecture: "arm64"}) {
		t.Error("amd64 is listed before arm64, as indexes list them")
	}
	if got := probeRank(ocispecs.Platform{OS: "windows", Architecture: "amd64"}); got != len(probePlatforms) {
		t.Errorf("an unknown platform ranks %d, want last", got)
	}
}

func TestPlatformMismatch(t *testing.T) {
	for msg, want := range map[string]bool{
		"no match for platform in manifest: not found":              true,
		"no image for linux/arm64 (the closest is linux/amd64)":     true,
		"localhost:5000/x:y: not found":                             false,
		"failed to authorize: failed to fetch anonymous token: 401": false,
	} {
		if got := platformMismatch(errString(msg)); got != want {
			t.Errorf("platformMismatch(%q) = %v, want %v", msg, got, want)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }
