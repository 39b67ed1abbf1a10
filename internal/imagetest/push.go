package imagetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// PushWithConfig pushes to repo:tag of a plain-HTTP registry an image
// with the layers of img (which must be in repo already) and the config
// edit returns for img's, as a tool that rewrites configs would: for
// images that no build could make, such as a patched image whose original
// is gone.
func PushWithConfig(registry, repo, tag string, img *Image, edit func(map[string]any)) (digest.Digest, error) {
	raw, err := img.Blob(img.Manifest.Config.Digest)
	if err != nil {
		return "", err
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return "", err
	}
	edit(cfg)
	dt, err := json.Marshal(cfg)
	if err != nil {
		return "", err
	}
	cd := digest.FromBytes(dt)
	resp, err := http.Post(fmt.Sprintf("http://%s/v2/%s/blobs/uploads/", registry, repo), "", nil)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return "", fmt.Errorf("starting the upload: %s", resp.Status)
	}
	loc := resp.Header.Get("Location")
	sep := "?"
	if bytes.ContainsRune([]byte(loc), '?') {
		sep = "&"
	}
	if err := put(loc+sep+"digest="+cd.String(), "application/octet-stream", dt); err != nil {
		return "", fmt.Errorf("uploading the config: %w", err)
	}
	m := img.Manifest
	m.Config = ocispecs.Descriptor{MediaType: ocispecs.MediaTypeImageConfig, Digest: cd, Size: int64(len(dt))}
	md, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	if err := put(fmt.Sprintf("http://%s/v2/%s/manifests/%s", registry, repo, tag), ocispecs.MediaTypeImageManifest, md); err != nil {
		return "", fmt.Errorf("pushing the manifest: %w", err)
	}
	return digest.FromBytes(md), nil
}

func put(url, contentType string, body []byte) error {
	req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("PUT: %s", resp.Status)
	}
	return nil
}
