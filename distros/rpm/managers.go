package rpm

import (
	"context"
	_ "embed"

	"github.com/copa/frontend/distros"
)

// Manager is one package manager of the rpm family, as the patch step
// drives it: a script that defines the step's pm_* functions, and what
// the frontend must know to mount its state away from the image. The
// managers are values (managers below), as dalec declares its per-distro
// configuration; the step logic they share is in rpm-lib.sh and the
// helper commands (rpmstep).
type Manager struct {
	// Name is how messages and the history name it: "dnf".
	Name string
	// Binaries are the paths that show the manager is in an image; the
	// first one found is the one the step runs.
	Binaries []string
	// Script defines pm_refresh, pm_available, pm_upgrade and
	// pm_upgrade_all, and sets pm_format (the output format of
	// pm_available that the resolve-rpm helper reads).
	Script []byte
	// CacheID names the manager in cache mount IDs.
	CacheID string
	// Installroot says whether the manager can patch an image mounted
	// elsewhere (--installroot, --root), as a tooling image must.
	Installroot bool
	// Verified says whether the manager ran end to end on this project's
	// CI (docs/rpm.md); the others are covered by the step's golden tests.
	Verified bool
}

var (
	//go:embed pm-dnf.sh
	pmDNF []byte
	//go:embed pm-yum.sh
	pmYum []byte
	//go:embed pm-microdnf.sh
	pmMicrodnf []byte
	//go:embed pm-tdnf.sh
	pmTdnf []byte
	//go:embed pm-zypper.sh
	pmZypper []byte
)

// The rpm package managers, in the order they are detected: an image
// with several (dnf and its yum compatibility link, microdnf beside dnf)
// is patched with the most capable.
var (
	DNF      = Manager{Name: "dnf", Binaries: []string{"/usr/bin/dnf", "/usr/bin/dnf-3"}, Script: pmDNF, CacheID: "dnf", Installroot: true, Verified: true}
	Microdnf = Manager{Name: "microdnf", Binaries: []string{"/usr/bin/microdnf"}, Script: pmMicrodnf, CacheID: "microdnf", Installroot: true}
	Tdnf     = Manager{Name: "tdnf", Binaries: []string{"/usr/bin/tdnf"}, Script: pmTdnf, CacheID: "tdnf", Installroot: true}
	Yum      = Manager{Name: "yum", Binaries: []string{"/usr/bin/yum"}, Script: pmYum, CacheID: "yum", Installroot: true}
	Zypper   = Manager{Name: "zypper", Binaries: []string{"/usr/bin/zypper"}, Script: pmZypper, CacheID: "zypper", Installroot: true, Verified: true}
)

// Managers lists every rpm package manager, in detection order.
var Managers = []Manager{DNF, Microdnf, Tdnf, Yum, Zypper}

// binary returns the manager's binary in the image, "" when it has none.
func (m Manager) binary(ctx context.Context, root distros.FS) (string, error) {
	for _, b := range m.Binaries {
		ok, err := root.Exists(ctx, b)
		if err != nil {
			return "", err
		}
		if ok {
			return b, nil
		}
	}
	return "", nil
}

// managerIn returns the first of Managers the image has, and its binary.
func managerIn(ctx context.Context, root distros.FS, installroot bool) (Manager, string, error) {
	for _, m := range Managers {
		if installroot && !m.Installroot {
			continue
		}
		b, err := m.binary(ctx, root)
		if err != nil || b != "" {
			return m, b, err
		}
	}
	return Manager{}, "", nil
}
