package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/copa/frontend/internal/imagetest"
)

// benchDistroless compares, on the distroless-style harness image, patching
// with copa/frontend against the multi-stage Dockerfile a user writes by
// hand for an image without a shell: download the packages in a Debian
// image, unpack them with dpkg-deb -x and COPY the files over the image.
// That Dockerfile does not update status.d, so scanners still report the
// old versions; it is the floor for time and bytes, not an equivalent.
//
// The image's slice of the harness report names one package, so both
// cases update every package that has an update (no REPORT).
func benchDistroless(c config, tooling string) {
	if tooling == "" {
		codenames := map[string]string{"12-stale": "bookworm", "11-stale": "bullseye"}
		codename, ok := codenames[tagOf(c.image)]
		if !ok {
			fail(fmt.Errorf("no tooling image known for %s: pass -tooling", c.image))
		}
		tooling = "copa-test/debian:" + codename
	}
	base := must(imagetest.FromRegistry(c.registry, repoOf(c.image), tagOf(c.image), "linux/amd64"))
	installed := installedOf(base)
	var pkgs []string
	// The distroless images are made of the stale images' rootfs, so the
	// stale image's list of pending upgrades applies.
	upgradable := string(must(os.ReadFile(filepath.Join(c.data, "debian-"+tagOf(c.image)+".upgradable"))))
	for _, line := range strings.Split(strings.TrimSpace(upgradable), "\n") {
		if f := strings.Fields(line); len(f) == 3 && installed[f[0]] != "" {
			pkgs = append(pkgs, f[0])
		}
	}
	sort.Strings(pkgs)
	if len(pkgs) == 0 {
		fail(fmt.Errorf("%s has no package with an update", c.image))
	}
	fmt.Fprintf(os.Stderr, "bench: %s, %d runs per case, packages: %s\n", c.image, c.runs, strings.Join(pkgs, " "))

	ctxDir := must(os.MkdirTemp("", "copa-bench"))
	defer os.RemoveAll(ctxDir)
	toolingRef := c.registry + "/" + tooling
	write(filepath.Join(ctxDir, "Patchfile"), []byte(fmt.Sprintf("PATCH %s/%s\nTOOLING %s\n", c.registry, c.image, toolingRef)))
	// Files go where merged /usr keeps them: COPY would otherwise replace
	// the image's lib -> usr/lib symlink with a directory.
	write(filepath.Join(ctxDir, "Dockerfile"), []byte(fmt.Sprintf(`FROM %s AS dl
RUN apt-get update && mkdir /debs /out && cd /debs && apt-get download %s && \
    for d in *.deb; do dpkg-deb -x "$d" /out; done && \
    for d in bin sbin lib lib64; do if [ -d /out/$d ]; then mkdir -p /out/usr/$d && cp -a /out/$d/. /out/usr/$d/ && rm -rf /out/$d; fi; done
FROM %s/%s
COPY --from=dl /out /
`, toolingRef, strings.Join(pkgs, " "), c.registry, c.image)))

	cases := []benchCase{
		{"copa/frontend (tooling image)", []string{"-f", filepath.Join(ctxDir, "Patchfile"), "--build-arg", "BUILDKIT_SYNTAX=" + c.frontend}, "bench-frontend"},
		{"multi-stage COPY of dpkg-deb -x (status.d not updated)", []string{"-f", filepath.Join(ctxDir, "Dockerfile")}, "bench-copy"},
	}
	results := c.run(cases, ctxDir, base)
	upgraded, gz := c.upgradedFilesGzip(base, "bench-frontend", toolingRef)
	fmt.Printf("image: %s (the patch changed %d packages: %s)\n", c.image, len(upgraded), strings.Join(upgraded, " "))
	printTable(cases, results, gz)
	wf, lf := medians(results[0])
	wr, lr := medians(results[1])
	fmt.Printf("\ncopa/frontend vs %s: wall time %.2f×, layer %.2f×\n", cases[1].name, wf.Seconds()/wr.Seconds(), float64(lf)/float64(lr))
}
