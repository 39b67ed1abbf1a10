package rpmdb

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/copa/frontend/distros"
)

// manifestFields is the column count of container-manifest-2, the output
// of Azure Linux's image build:
//
//	rpm -qa --qf "%{NAME}\t%{VERSION}-%{RELEASE}\t%{INSTALLTIME}\t%{BUILDTIME}\t%{VENDOR}\t(none)\t%{SIZE}\t%{ARCH}\t%{EPOCHNUM}\t%{SOURCERPM}\n"
//
// (the sixth column is the literal "(none)"; Trivy reads the same columns).
const manifestFields = 10

// rpm prints a tag a header lacks as "(none)".
const rpmNone = "(none)"

// ParseManifest reads an Azure Linux / CBL-Mariner distroless manifest
// (/var/lib/rpmmanifest/container-manifest-2): one Header per line,
// without Files or DigestAlgo, which the manifest does not list. EPOCHNUM
// prints a missing epoch as 0, so HasEpoch is true only for a non-zero one.
func ParseManifest(data []byte) ([]Header, error) {
	var out []Header
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		n := i + 1
		if len(out) == maxPackages {
			return nil, fmt.Errorf("the rpm manifest lists more than %d packages", maxPackages)
		}
		f := strings.Split(string(line), "\t")
		if len(f) != manifestFields {
			return nil, fmt.Errorf("rpm manifest line %d has %d tab-separated fields, not %d (NAME, VERSION-RELEASE, INSTALLTIME, BUILDTIME, VENDOR, (none), SIZE, ARCH, EPOCHNUM, SOURCERPM): %q",
				n, len(f), manifestFields, distros.Clip(string(line)))
		}
		h := Header{Name: f[0], Arch: none(f[7]), SourceRPM: none(f[9])}
		var ok bool
		if h.Version, h.Release, ok = strings.Cut(f[1], "-"); !ok || h.Version == "" || h.Release == "" || strings.Contains(h.Release, "-") {
			return nil, fmt.Errorf("rpm manifest line %d: %q is not VERSION-RELEASE", n, distros.Clip(f[1]))
		}
		epoch, err := strconv.ParseUint(f[8], 10, 31)
		if err != nil {
			return nil, fmt.Errorf("rpm manifest line %d: epoch %q is not a number", n, distros.Clip(f[8]))
		}
		h.Epoch, h.HasEpoch = int(epoch), epoch != 0
		if h.Name == "" {
			return nil, fmt.Errorf("rpm manifest line %d has no package name", n)
		}
		out = append(out, h)
	}
	return out, nil
}

func none(s string) string {
	if s == rpmNone {
		return ""
	}
	return s
}

// ManifestLine is h's line of container-manifest-2, as Azure Linux's
// image build writes it (manifestFields), without the newline.
func ManifestLine(h Header) string {
	orNone := func(s string) string {
		if s == "" {
			return rpmNone
		}
		return s
	}
	return strings.Join([]string{
		h.Name, h.Version + "-" + h.Release,
		strconv.FormatUint(uint64(h.InstallTime), 10), strconv.FormatUint(uint64(h.BuildTime), 10),
		orNone(h.Vendor), rpmNone, strconv.FormatUint(h.Size, 10), orNone(h.Arch),
		strconv.Itoa(h.Epoch), orNone(h.SourceRPM),
	}, "\t")
}

// ManifestNEVRA is h's line of container-manifest-1, which is rpm -qa's:
// NAME-VERSION-RELEASE.ARCH (no epoch; no arch for gpg-pubkey).
func ManifestNEVRA(h Header) string {
	s := h.Name + "-" + h.Version + "-" + h.Release
	if h.Arch != "" {
		s += "." + h.Arch
	}
	return s
}
