// Package imagetest reads images for tests and the demo: from an OCI layout
// tarball (what BuildKit's oci exporter writes) or from a plain-HTTP
// loopback registry. It reads only what the checks need.
package imagetest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// Image is one platform's manifest and config, with a way to fetch blobs.
type Image struct {
	Digest   digest.Digest
	Manifest ocispecs.Manifest
	Config   dockerspec.DockerOCIImage
	blob     func(digest.Digest) ([]byte, error)
}

// Blob returns a blob of the image, checking its digest.
func (img *Image) Blob(d digest.Digest) ([]byte, error) {
	dt, err := img.blob(d)
	if err != nil {
		return nil, err
	}
	if got := digest.FromBytes(dt); got != d {
		return nil, fmt.Errorf("blob %s has digest %s", d, got)
	}
	return dt, nil
}

// LayerDigests lists the manifest's layer digests.
func (img *Image) LayerDigests() []digest.Digest {
	out := make([]digest.Digest, len(img.Manifest.Layers))
	for i, l := range img.Manifest.Layers {
		out[i] = l.Digest
	}
	return out
}

// Layer reads the files of layer i.
func (img *Image) Layer(i int) (*Layer, error) {
	dt, err := img.Blob(img.Manifest.Layers[i].Digest)
	if err != nil {
		return nil, err
	}
	return ReadLayer(dt)
}

// Layer is the content of one layer tarball.
type Layer struct {
	Headers []*tar.Header
	Files   map[string][]byte // regular files, by path without leading "./" or "/"
	// CompressedSize is the size of the layer blob.
	CompressedSize int
}

// ReadLayer reads a (possibly gzip-compressed) layer tarball.
func ReadLayer(blob []byte) (*Layer, error) {
	var r io.Reader = bytes.NewReader(blob)
	if len(blob) > 2 && blob[0] == 0x1f && blob[1] == 0x8b {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return nil, err
		}
		r = gz
	}
	l := &Layer{Files: map[string][]byte{}, CompressedSize: len(blob)}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return l, nil
		}
		if err != nil {
			return nil, err
		}
		h.Name = CleanName(h.Name)
		l.Headers = append(l.Headers, h)
		if h.Typeflag == tar.TypeReg {
			dt, err := io.ReadAll(tr)
			if err != nil {
				return nil, err
			}
			l.Files[h.Name] = dt
		}
	}
}

// CleanName strips the "./" or "/" prefix that layer tarballs may carry.
func CleanName(n string) string {
	return strings.TrimPrefix(strings.TrimPrefix(n, "./"), "/")
}

// ReadOCITar reads the single image of an OCI layout tarball; an index is
// resolved to linux/amd64.
func ReadOCITar(path string) (*Image, error) { return ReadOCITarFor(path, "linux/amd64") }

// ReadOCITarFor is ReadOCITar, an index resolved to platform.
func ReadOCITarFor(path, platform string) (*Image, error) {
	files, err := ReadTar(path)
	if err != nil {
		return nil, err
	}
	blob := func(d digest.Digest) ([]byte, error) {
		dt, ok := files["blobs/"+d.Algorithm().String()+"/"+d.Encoded()]
		if !ok {
			return nil, fmt.Errorf("blob %s not in the OCI layout", d)
		}
		return dt, nil
	}
	var idx ocispecs.Index
	if err := json.Unmarshal(files["index.json"], &idx); err != nil {
		return nil, fmt.Errorf("index.json: %w", err)
	}
	if len(idx.Manifests) != 1 {
		return nil, fmt.Errorf("index.json has %d manifests, want 1", len(idx.Manifests))
	}
	return load(idx.Manifests[0], blob, platform)
}

// ReadTar reads the regular files of a tarball, by their cleaned names.
func ReadTar(path string) (map[string][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		dt, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		files[CleanName(h.Name)] = dt
	}
}

// FromRegistry reads repo:tag from a plain-HTTP registry such as the
// loopback one the harness runs; an index is resolved to platform.
func FromRegistry(registry, repo, tag, platform string) (*Image, error) {
	r := registryRepo{registry, repo}
	dt, mt, err := r.get("manifests", tag, manifestTypes)
	if err != nil {
		return nil, err
	}
	desc := ocispecs.Descriptor{MediaType: mt, Digest: digest.FromBytes(dt), Size: int64(len(dt))}
	return load(desc, r.blob, platform)
}

// manifestTypes are the manifest media types a registry is asked for.
var manifestTypes = strings.Join([]string{ocispecs.MediaTypeImageIndex, ocispecs.MediaTypeImageManifest,
	"application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.docker.distribution.manifest.v2+json"}, ", ")

// registryRepo is a repository of a plain-HTTP registry.
type registryRepo struct{ registry, repo string }

func (r registryRepo) get(kind, ref string, accept string) ([]byte, string, error) {
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s/v2/%s/%s/%s", r.registry, r.repo, kind, ref), nil)
	if err != nil {
		return nil, "", err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	dt, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("GET %s %s: %s", kind, ref, resp.Status)
	}
	return dt, resp.Header.Get("Content-Type"), nil
}

// blob fetches a blob, or a manifest by its digest.
func (r registryRepo) blob(d digest.Digest) ([]byte, error) {
	if strings.HasPrefix(d.String(), "sha256:") {
		dt, _, err := r.get("blobs", d.String(), "")
		if err == nil {
			return dt, nil
		}
	}
	dt, _, err := r.get("manifests", d.String(), manifestTypes)
	return dt, err
}

func load(desc ocispecs.Descriptor, blob func(digest.Digest) ([]byte, error), platform string) (*Image, error) {
	dt, err := blob(desc.Digest)
	if err != nil {
		return nil, err
	}
	var probe struct {
		MediaType string                `json:"mediaType"`
		Manifests []ocispecs.Descriptor `json:"manifests"`
	}
	if err := json.Unmarshal(dt, &probe); err != nil {
		return nil, err
	}
	if len(probe.Manifests) > 0 {
		for _, m := range probe.Manifests {
			if m.Platform == nil {
				continue
			}
			p := m.Platform.OS + "/" + m.Platform.Architecture
			if m.Platform.Variant != "" {
				p += "/" + m.Platform.Variant
			}
			if p == platform {
				return load(m, blob, platform)
			}
		}
		return nil, fmt.Errorf("index %s has no %s manifest", desc.Digest, platform)
	}
	img := &Image{Digest: desc.Digest, blob: blob}
	if err := json.Unmarshal(dt, &img.Manifest); err != nil {
		return nil, err
	}
	cfg, err := img.Blob(img.Manifest.Config.Digest)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(cfg, &img.Config); err != nil {
		return nil, err
	}
	return img, nil
}
