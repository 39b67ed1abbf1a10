package imagetest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// WriteLayout copies repo:tag from a plain-HTTP registry into the OCI
// layout directory dir, byte for byte: the manifest or the index with
// every manifest it lists (attestation manifests too), their configs and
// layers. index.json lists the copy under the name tag, as
// `--build-context NAME=oci-layout://DIR:TAG` looks it up. It returns the
// copy's descriptor.
func WriteLayout(registry, repo, tag, dir string) (ocispecs.Descriptor, error) {
	r := registryRepo{registry, repo}
	dt, mt, err := r.get("manifests", tag, manifestTypes)
	if err != nil {
		return ocispecs.Descriptor{}, err
	}
	desc := ocispecs.Descriptor{MediaType: mt, Digest: digest.FromBytes(dt), Size: int64(len(dt)),
		Annotations: map[string]string{ocispecs.AnnotationRefName: tag}}
	if err := copyTree(r, dir, dt); err != nil {
		return ocispecs.Descriptor{}, err
	}
	return desc, writeLayoutIndex(dir, desc)
}

// WriteImageLayout writes img to the OCI layout directory dir under the
// name tag, with its config as edit changes it: an image no daemon has
// seen, whose manifest and config only the layout holds. It returns the
// manifest's descriptor.
func WriteImageLayout(dir, tag string, img *Image, edit func(map[string]any)) (ocispecs.Descriptor, error) {
	raw, err := img.Blob(img.Manifest.Config.Digest)
	if err != nil {
		return ocispecs.Descriptor{}, err
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return ocispecs.Descriptor{}, err
	}
	edit(cfg)
	if raw, err = json.Marshal(cfg); err != nil {
		return ocispecs.Descriptor{}, err
	}
	for _, l := range img.Manifest.Layers {
		dt, err := img.Blob(l.Digest)
		if err != nil {
			return ocispecs.Descriptor{}, err
		}
		if err := writeBlob(dir, dt); err != nil {
			return ocispecs.Descriptor{}, err
		}
	}
	if err := writeBlob(dir, raw); err != nil {
		return ocispecs.Descriptor{}, err
	}
	m := img.Manifest
	m.MediaType = ocispecs.MediaTypeImageManifest
	m.Config = ocispecs.Descriptor{MediaType: ocispecs.MediaTypeImageConfig, Digest: digest.FromBytes(raw), Size: int64(len(raw))}
	md, err := json.Marshal(m)
	if err != nil {
		return ocispecs.Descriptor{}, err
	}
	if err := writeBlob(dir, md); err != nil {
		return ocispecs.Descriptor{}, err
	}
	desc := ocispecs.Descriptor{MediaType: ocispecs.MediaTypeImageManifest, Digest: digest.FromBytes(md), Size: int64(len(md)),
		Annotations: map[string]string{ocispecs.AnnotationRefName: tag}}
	return desc, writeLayoutIndex(dir, desc)
}

// FromLayout reads the single image of an OCI layout directory; an index
// is resolved to platform.
func FromLayout(dir, platform string) (*Image, error) {
	dt, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		return nil, err
	}
	var idx ocispecs.Index
	if err := json.Unmarshal(dt, &idx); err != nil {
		return nil, fmt.Errorf("index.json: %w", err)
	}
	if len(idx.Manifests) != 1 {
		return nil, fmt.Errorf("index.json has %d manifests, want 1", len(idx.Manifests))
	}
	return load(idx.Manifests[0], func(d digest.Digest) ([]byte, error) {
		return os.ReadFile(filepath.Join(dir, "blobs", d.Algorithm().String(), d.Encoded()))
	}, platform)
}

// writeLayoutIndex writes the layout's index.json, listing desc, and its
// oci-layout file.
func writeLayoutIndex(dir string, desc ocispecs.Descriptor) error {
	idx := ocispecs.Index{MediaType: ocispecs.MediaTypeImageIndex, Manifests: []ocispecs.Descriptor{desc}}
	idx.SchemaVersion = 2
	for name, v := range map[string]any{"index.json": idx, ocispecs.ImageLayoutFile: ocispecs.ImageLayout{Version: ocispecs.ImageLayoutVersion}} {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// copyTree writes the manifest or index dt and everything it refers to.
func copyTree(r registryRepo, dir string, dt []byte) error {
	if err := writeBlob(dir, dt); err != nil {
		return err
	}
	var m struct {
		Manifests []ocispecs.Descriptor `json:"manifests"`
		Config    *ocispecs.Descriptor  `json:"config"`
		Layers    []ocispecs.Descriptor `json:"layers"`
	}
	if err := json.Unmarshal(dt, &m); err != nil {
		return err
	}
	for _, d := range m.Manifests {
		child, err := r.blob(d.Digest)
		if err != nil {
			return err
		}
		if digest.FromBytes(child) != d.Digest {
			return fmt.Errorf("manifest %s does not match its digest", d.Digest)
		}
		if err := copyTree(r, dir, child); err != nil {
			return err
		}
	}
	blobs := m.Layers
	if m.Config != nil {
		blobs = append(blobs, *m.Config)
	}
	for _, d := range blobs {
		b, err := r.blob(d.Digest)
		if err != nil {
			return err
		}
		if digest.FromBytes(b) != d.Digest {
			return fmt.Errorf("blob %s does not match its digest", d.Digest)
		}
		if err := writeBlob(dir, b); err != nil {
			return err
		}
	}
	return nil
}

func writeBlob(dir string, dt []byte) error {
	d := digest.FromBytes(dt)
	p := filepath.Join(dir, "blobs", d.Algorithm().String(), d.Encoded())
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, dt, 0o644)
}
