package deb

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/copa/frontend/distros"
)

// Release is the per-release data of a Debian or Ubuntu release: what the
// frontend must know of it to patch its images. Releases are declared as
// values in releases below; a codename the table does not list gets its
// distro's defaults, so a new release works before it is added.
type Release struct {
	distros.Release
	// Codename is the release's codename ("bookworm"), "" when the image
	// does not say; Version its number ("12").
	Codename, Version string
	// Extra are the official suites the frontend adds, for the patch
	// only, when the image's own sources lack a fixed version.
	Extra []Suite
	// CacheKey names the release in cache mount IDs: package lists and
	// archives are shared by the builds of one release and platform.
	CacheKey string
}

// Suite is one official apt suite.
type Suite struct {
	URI string
	// PortsURI replaces URI on architectures outside the main archive
	// (Ubuntu's ports.ubuntu.com); "" when the main archive has them all.
	PortsURI   string
	Name       string
	Components string
}

// Where the distros publish their suites.
const (
	debianArchive   = "http://deb.debian.org/debian"
	debianSecurity  = "http://deb.debian.org/debian-security"
	ubuntuArchive   = "http://archive.ubuntu.com/ubuntu"
	ubuntuSecurity  = "http://security.ubuntu.com/ubuntu"
	ubuntuPorts     = "http://ports.ubuntu.com/ubuntu-ports"
	ubuntuComps     = "main restricted universe multiverse"
	officialTooling = "docker.io/library/"
)

// ubuntuMainArchs are the dpkg architectures archive.ubuntu.com carries; the
// others are on the ports archive.
var ubuntuMainArchs = []string{"amd64", "i386"}

// releases are the releases the frontend knows by name. EOL is the end of
// free security support: Debian's LTS end dates, and for Ubuntu the end of
// standard support (ESM is a subscription). A date left unset was not
// confirmed, and an unset date never warns.
var releases = []Release{
	debian("jessie", "8", "2020-06-30", "jessie/updates"),
	debian("stretch", "9", "2022-06-30", "stretch/updates"),
	debian("buster", "10", "2024-06-30", "buster/updates"), // "-security" from Debian 11 on
	debian("bullseye", "11", "2026-08-31", ""),
	debian("bookworm", "12", "2028-06-30", ""),
	debian("trixie", "13", "2030-06-30", ""),
	debian("forky", "14", "", ""),
	// unstable has neither a security nor an updates suite.
	{Release: distros.Release{Distro: "debian", Name: "sid", Tooling: officialTooling + "debian:sid"}, Codename: "sid", CacheKey: "debian-sid"},
	ubuntu("xenial", "16.04", "2021-04-30"),
	ubuntu("bionic", "18.04", "2023-05-31"),
	ubuntu("focal", "20.04", "2025-05-31"),
	ubuntu("jammy", "22.04", ""),
	ubuntu("noble", "24.04", ""),
	ubuntu("oracular", "24.10", "2025-07-10"),
	ubuntu("plucky", "25.04", ""),
	ubuntu("questing", "25.10", ""),
}

// debian declares a Debian release; security is the name of its security
// suite when it is not "<codename>-security".
func debian(codename, version, eol, security string) Release {
	if security == "" {
		security = codename + "-security"
	}
	r := defaults("debian", codename)
	r.Version, r.EOL = version, date(eol)
	r.Extra[0].Name = security
	return r
}

func ubuntu(codename, version, eol string) Release {
	r := defaults("ubuntu", codename)
	r.Version, r.EOL = version, date(eol)
	return r
}

// defaults is a release of distro that the table does not list.
func defaults(distro, codename string) Release {
	r := Release{
		Release:  distros.Release{Distro: distro, Name: codename},
		Codename: codename,
		CacheKey: distro + "-" + orUnknown(codename),
	}
	if codename == "" {
		return r // no suites to name, no image to choose
	}
	r.Tooling = officialTooling + distro + ":" + codename
	switch distro {
	case "debian":
		r.Extra = []Suite{
			{URI: debianSecurity, Name: codename + "-security", Components: "main"},
			{URI: debianArchive, Name: codename + "-updates", Components: "main"},
		}
	case "ubuntu":
		r.Extra = []Suite{
			{URI: ubuntuSecurity, PortsURI: ubuntuPorts, Name: codename + "-security", Components: ubuntuComps},
			{URI: ubuntuArchive, PortsURI: ubuntuPorts, Name: codename + "-updates", Components: ubuntuComps},
		}
	}
	return r
}

func date(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err) // the table above is wrong
	}
	return t
}

var codenamePattern = regexp.MustCompile(`^[a-z][a-z0-9]*$`)

// ReleaseOf finds the release of an image from its os-release: Ubuntu and
// its derivatives, else Debian and its derivatives.
func ReleaseOf(osr distros.OSRelease) (Release, error) {
	var distro string
	switch {
	case osr.Is("ubuntu"):
		distro = "ubuntu"
	case osr.Is("debian"):
		distro = "debian"
	default:
		return Release{}, fmt.Errorf("%s is not a Debian or Ubuntu release", osr)
	}
	codename := osr.VersionCodename
	if codename != "" && !codenamePattern.MatchString(codename) {
		return Release{}, fmt.Errorf("os-release VERSION_CODENAME %q is not a release codename", distros.Clip(codename))
	}
	if i := slices.IndexFunc(releases, func(r Release) bool { return r.Distro == distro && r.Codename == codename }); i >= 0 && codename != "" {
		return releases[i], nil
	}
	if codename == "" && osr.VersionID != "" {
		// No codename (a scanner's report names the version only, "12.5"
		// or "22.04"): Debian's releases are known by their major
		// number, Ubuntu's by the whole.
		v := osr.VersionID
		if distro == "debian" {
			v, _, _ = strings.Cut(v, ".")
		}
		if i := slices.IndexFunc(releases, func(r Release) bool { return r.Distro == distro && r.Version == v }); i >= 0 {
			return releases[i], nil
		}
	}
	return defaults(distro, codename), nil
}

// ExtraSources returns the release's official suites that the image's own
// sources lack, as one-line apt sources for arch, and their names.
func (r Release) ExtraSources(arch string, configured []string) (list string, added []string) {
	var b strings.Builder
	for _, s := range r.Extra {
		if slices.Contains(configured, s.Name) {
			continue
		}
		uri := s.URI
		if s.PortsURI != "" && !slices.Contains(ubuntuMainArchs, arch) {
			uri = s.PortsURI
		}
		fmt.Fprintf(&b, "deb %s %s %s\n", uri, s.Name, s.Components)
		added = append(added, s.Name)
	}
	return b.String(), added
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
