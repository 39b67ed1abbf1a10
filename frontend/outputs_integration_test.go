package frontend_test

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/moby/buildkit/client"

	"github.com/copa/frontend/internal/imagetest"
)

// TestDockerExporterAttestation pins what docs/outputs.md says of
// --output type=docker: with VEX statements BuildKit writes an index of
// the image and its attestation manifest, and the tarball is an OCI
// layout without the manifest.json of a Docker archive; without
// statements it is one image with manifest.json.
func TestDockerExporterAttestation(t *testing.T) {
	env := needEnv(t)
	report := readData(t, env, "debian-12-stale.trivy.json")
	docker := func(dest string) func(*client.SolveOpt) {
		return func(o *client.SolveOpt) {
			o.Exports = append(o.Exports, client.ExportEntry{
				Type:   client.ExporterDocker,
				Attrs:  map[string]string{"name": "example.com/app:patched"},
				Output: func(map[string]string) (io.WriteCloser, error) { return os.Create(dest) },
			})
		}
	}
	stale := "PATCH " + env.registry + "/copa-test/debian:12-stale\n"
	tests := []struct {
		name     string
		files    map[string]string
		manifest bool // manifest.json
		vex      int
	}{
		{"with VEX statements", map[string]string{"Patchfile": stale + "REPORT report.json\n", "report.json": report}, false, 1},
		{"without", map[string]string{"Patchfile": stale}, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dest := filepath.Join(t.TempDir(), "docker.tar")
			res := patchWith(t, env, tt.files, nil, docker(dest))
			if res.err != nil {
				t.Fatalf("patch failed: %v\n%s", res.err, res.logs)
			}
			files, err := imagetest.ReadTar(dest)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := files["manifest.json"]; ok != tt.manifest {
				t.Errorf("manifest.json in the tarball: %v, want %v", ok, tt.manifest)
			}
			if _, ok := files["index.json"]; !ok {
				t.Error("the tarball has no index.json")
			}
			if tt.vex > 0 {
				if n := vexInOCITar(t, dest); n != tt.vex {
					t.Errorf("%d VEX attestation(s), want %d", n, tt.vex)
				}
			}
		})
	}
}
