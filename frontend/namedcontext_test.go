package frontend

import (
	"strings"
	"testing"

	"github.com/containerd/platforms"
)

const testDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestContextName(t *testing.T) {
	tests := []struct{ image, want string }{
		{"nginx", "nginx"},
		{"nginx:latest", "nginx"},
		{"docker.io/library/nginx:1.21.6", "nginx:1.21.6"},
		{"library/nginx:1.21.6", "nginx:1.21.6"},
		{"localhost:5000/copa-test/debian:12-stale", "localhost:5000/copa-test/debian:12-stale"},
		{"ghcr.io/org/app:latest", "ghcr.io/org/app"},
		{"app@" + testDigest, "app@" + testDigest},
	}
	for _, tt := range tests {
		got, err := contextName(tt.image)
		if err != nil || got != tt.want {
			t.Errorf("contextName(%q) = %q, %v; want %q", tt.image, got, err, tt.want)
		}
	}
}

func TestFindPatchContexts(t *testing.T) {
	tests := []struct {
		name  string
		image string
		opts  map[string]string
		want  []string // patchContext.String(), with the platform
		err   string   // a substring of the error
	}{
		{name: "none", image: "nginx:1.21.6", opts: map[string]string{"context:debian:bookworm": "docker-image://mirror/debian:bookworm"}},
		{name: "docker-image, the name normalised as FROM's",
			image: "docker.io/library/nginx:1.21.6",
			opts:  map[string]string{"context:nginx:1.21.6": "docker-image://mirror.example.com/nginx:1.21.6"},
			want:  []string{"nginx:1.21.6=docker-image://mirror.example.com/nginx:1.21.6"}},
		{name: "latest is left out of the name", image: "app:latest",
			opts: map[string]string{"context:app": "docker-image://registry.example.com/app"},
			want: []string{"app=docker-image://registry.example.com/app"}},
		{name: "oci-layout as buildx passes it", image: "some-name",
			opts: map[string]string{"context:some-name": "oci-layout://k2j3h4g5:v1@" + testDigest},
			want: []string{"some-name=oci-layout://k2j3h4g5:v1@" + testDigest}},
		{name: "input", image: "app",
			opts: map[string]string{"context:app": "input:app", "input-metadata:app": "{}"},
			want: []string{"app=input:app"}},
		{name: "bake's per-platform inputs, sorted", image: "app",
			opts: map[string]string{
				"context:app::linux/arm64": "input:app::linux/arm64",
				"context:app::linux/amd64": "input:app::linux/amd64",
			},
			want: []string{"app::linux/amd64=input:app::linux/amd64 linux/amd64", "app::linux/arm64=input:app::linux/arm64 linux/arm64"}},
		{name: "both kinds", image: "app",
			opts: map[string]string{"context:app": "input:app", "context:app::linux/amd64": "input:app::linux/amd64"},
			err:  "are both given"},
		{name: "a per-platform context without a platform", image: "app",
			opts: map[string]string{"context:app::": "input:x"},
			err:  "names no platform"},
		{name: "local", image: "some-name",
			opts: map[string]string{"context:some-name": "local:some-name"},
			err:  "the build context some-name is a local directory, not an image: PATCH takes an image: --build-context some-name=docker-image://<reference>, an OCI layout directory with --build-context some-name=oci-layout://<dir>[:<tag>]"},
		{name: "local per platform, advice without the platform", image: "app",
			opts: map[string]string{"context:app::linux/amd64": "local:x"},
			err:  "--build-context app=oci-layout://"},
		{name: "git", image: "app", opts: map[string]string{"context:app": "https://github.com/org/app.git"}, err: "is a Git repository or a URL"},
		{name: "git ssh", image: "app", opts: map[string]string{"context:app": "git@github.com:org/app.git"}, err: "is a Git repository"},
		{name: "unknown source", image: "app", opts: map[string]string{"context:app": "ftp://host/app"}, err: `the source "ftp"`},
		{name: "no source", image: "app", opts: map[string]string{"context:app": "app"}, err: "has no source"},
		{name: "oci-layout without digest", image: "app", opts: map[string]string{"context:app": "oci-layout://store:v1"}, err: "has no digest"},
		{name: "bad image reference", image: "app", opts: map[string]string{"context:app": "docker-image://Bad:Ref"}, err: "names the image"},
		{name: "empty input", image: "app", opts: map[string]string{"context:app": "input:"}, err: "names no input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := findPatchContexts(tt.opts, tt.image)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, pc := range got {
				s := pc.String()
				if pc.Platform != nil {
					s += " " + platforms.Format(*pc.Platform)
				}
				names = append(names, s)
			}
			if strings.Join(names, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("contexts = %q, want %q", names, tt.want)
			}
		})
	}
}

func TestParseLayoutRef(t *testing.T) {
	tests := []struct{ ref, store, err string }{
		{ref: "abc123@" + testDigest, store: "abc123"},
		{ref: "abc123:latest@" + testDigest, store: "abc123"},
		{ref: "abc123:latest", err: "has no digest"},
		{ref: "@" + testDigest, err: "invalid"},
		{ref: "UPPER@" + testDigest, err: "invalid"},
	}
	for _, tt := range tests {
		store, d, err := parseLayoutRef(tt.ref)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseLayoutRef(%q) error = %v, want %q", tt.ref, err, tt.err)
			}
			continue
		}
		if err != nil || store != tt.store || d.Digest().String() != testDigest {
			t.Errorf("parseLayoutRef(%q) = %q, %v, %v", tt.ref, store, d, err)
		}
	}
}

func TestContextsPin(t *testing.T) {
	pc := func(kind contextKind, ref string) patchContext {
		return patchContext{Name: "app", Kind: kind, Ref: ref}
	}
	tests := []struct {
		name string
		ctxs []patchContext
		want bool
	}{
		{"none", nil, false},
		{"oci-layout", []patchContext{pc(contextLayout, "store@"+testDigest)}, true},
		{"input", []patchContext{pc(contextInput, "app")}, true},
		{"docker-image by tag", []patchContext{pc(contextImage, "mirror/app:1")}, false},
		{"docker-image by digest", []patchContext{pc(contextImage, "mirror/app@"+testDigest)}, true},
		{"per platform, one by tag", []patchContext{pc(contextInput, "app::linux/amd64"), pc(contextImage, "mirror/app:1")}, false},
	}
	for _, tt := range tests {
		if got := contextsPin(tt.ctxs); got != tt.want {
			t.Errorf("%s: contextsPin = %v, want %v", tt.name, got, tt.want)
		}
	}
}
