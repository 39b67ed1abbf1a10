package imagetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// Statement is an in-toto statement as BuildKit stores attestations.
type Statement struct {
	Type          string `json:"_type"`
	PredicateType string `json:"predicateType"`
	Subject       []struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	Predicate json.RawMessage `json:"predicate"`
}

// Attestations reads, from a registry index, the attestation manifest that
// refers to the image manifest for platform, and returns its statements.
// BuildKit marks such manifests with vnd.docker.reference.type and
// vnd.docker.reference.digest annotations.
func Attestations(registry, repo, tag, platform string) (image digest.Digest, statements []Statement, err error) {
	img, err := FromRegistry(registry, repo, tag, platform)
	if err != nil {
		return "", nil, err
	}
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s/v2/%s/manifests/%s", registry, repo, tag), nil)
	if err != nil {
		return "", nil, err
	}
	req.Header.Set("Accept", ocispecs.MediaTypeImageIndex)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	var idx ocispecs.Index
	if err := json.NewDecoder(resp.Body).Decode(&idx); err != nil {
		return "", nil, err
	}
	for _, m := range idx.Manifests {
		if m.Annotations["vnd.docker.reference.type"] != "attestation-manifest" || m.Annotations["vnd.docker.reference.digest"] != img.Digest.String() {
			continue
		}
		att, err := load(m, img.blob, platform)
		if err != nil {
			return "", nil, err
		}
		for _, l := range att.Manifest.Layers {
			if !strings.HasPrefix(l.MediaType, "application/vnd.in-toto") {
				continue
			}
			dt, err := att.Blob(l.Digest)
			if err != nil {
				return "", nil, err
			}
			var st Statement
			if err := json.Unmarshal(dt, &st); err != nil {
				return "", nil, fmt.Errorf("attestation layer %s: %w", l.Digest, err)
			}
			statements = append(statements, st)
		}
		return img.Digest, statements, nil
	}
	return img.Digest, nil, fmt.Errorf("%s:%s has no attestation manifest for %s", repo, tag, img.Digest)
}
