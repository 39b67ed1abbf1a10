package frontend

import (
	"strings"
	"testing"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/all"
)

func TestPatchedBy(t *testing.T) {
	const dgst = "sha256:4ff5360c278ca5bbcfcff35ab26302026ea000bc24e31163d381a498bd5ece5d"
	img := func(labels map[string]string, comments ...string) *baseImage {
		var cfg dockerspec.DockerOCIImage
		cfg.Config.Labels = labels
		for _, c := range comments {
			cfg.History = append(cfg.History, ocispecs.History{Comment: c})
		}
		return &baseImage{Config: cfg}
	}
	ours := map[string]string{LabelPatched: "true", LabelBaseName: "docker.io/library/nginx:1.25", LabelBaseDigest: dgst}
	tests := []struct {
		name string
		img  *baseImage
		want string
		made bool // madeByPatch
	}{
		{"patched by this frontend", img(ours, "buildkit.dockerfile.v0", HistoryComment), "docker.io/library/nginx@" + dgst, true},
		{"built FROM a patched image: history added after the patch", img(ours, HistoryComment, "buildkit.dockerfile.v0"), "", false},
		{"labels without the patch's history entry", img(ours, "buildkit.dockerfile.v0"), "", false},
		{"no patch label", img(map[string]string{LabelBaseName: "nginx", LabelBaseDigest: dgst}, HistoryComment), "", false},
		{"a base digest that is not one", img(map[string]string{LabelPatched: "true", LabelBaseName: "nginx", LabelBaseDigest: "sha256:nope"}, HistoryComment), "", true},
		{"a base name that is not one", img(map[string]string{LabelPatched: "true", LabelBaseName: "NGINX;rm -rf", LabelBaseDigest: dgst}, HistoryComment), "", true},
		{"a patch of a local build: no base digest", img(map[string]string{LabelPatched: "true", LabelBaseName: "docker.io/library/app:latest"}, HistoryComment), "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := patchedBy(tt.img)
			if ok != (tt.want != "") || (ok && got.String() != tt.want) {
				t.Errorf("patchedBy = %v, %v; want %q", got, ok, tt.want)
			}
			if made := madeByPatch(tt.img); made != tt.made {
				t.Errorf("madeByPatch = %v, want %v", made, tt.made)
			}
		})
	}
}

func TestEarlierFindings(t *testing.T) {
	f, _, _ := all.Registry.ForFamily("debian")
	pf := f.(distros.PatchFormat)
	pkgs := func(nv ...string) distros.Packages {
		var out distros.Packages
		for i := 0; i < len(nv); i += 2 {
			out = append(out, distros.Package{Name: nv[i], Version: nv[i+1], Arch: "amd64"})
		}
		return out
	}
	original := pkgs("libc6", "2.36-9+deb12u4", "tzdata", "2024a-0+deb12u1", "zlib1g", "1:1.2.13.dfsg-1")
	patched := pkgs("libc6", "2.36-9+deb12u10", "tzdata", "2024a-0+deb12u1", "zlib1g", "1:1.2.13.dfsg-1+deb12u1", "newdep", "1.0")
	vexDoc := `{"statements":[
		{"vulnerability":{"name":"CVE-2025-4802"},"status":"fixed","products":[{"@id":"pkg:oci/app","subcomponents":[{"@id":"pkg:deb/debian/libc6@2.36-9%2Bdeb12u10?arch=amd64"}]}]},
		{"vulnerability":{"name":"CVE-2024-0001"},"status":"affected","products":[{"@id":"pkg:oci/app","subcomponents":[{"@id":"pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1"}]}]}
	]}`
	got, err := earlierFindings(pf, original, patched, []byte(vexDoc))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, fd := range got {
		lines = append(lines, fd.Package+"="+strings.Join(fd.FixedVersions, ",")+" "+fd.VulnerabilityID)
	}
	// Upgrades at the patched versions (not newdep, which the original
	// lacks; not tzdata, unchanged), then the VEX document's fixed
	// statements (not the affected one).
	want := []string{"libc6=2.36-9+deb12u10 ", "zlib1g=1:1.2.13.dfsg-1+deb12u1 ", "libc6=2.36-9+deb12u10 CVE-2025-4802"}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}

	// A VEX document is read back from a registry: its names and
	// versions meet the format's grammar like a report's.
	hostile := `{"statements":[{"vulnerability":{"name":"CVE-1"},"status":"fixed","products":[{"@id":"x","subcomponents":[{"@id":"pkg:deb/debian/libc6@-oAPT::Foo=1"}]}]}]}`
	if _, err := earlierFindings(pf, original, patched, []byte(hostile)); err == nil {
		t.Error("a VEX statement with a version that is an option was planned")
	}
	if _, err := earlierFindings(pf, original, patched, []byte("{")); err == nil {
		t.Error("a corrupt VEX document was read")
	}
}
