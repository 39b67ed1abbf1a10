// Package all is the one registry of the formats, methods and helper
// commands copa/frontend knows. Adding a family is a package under
// distros/ plus its entries here (docs/architecture.md).
package all

import (
	"slices"

	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/apk"
	"github.com/copa/frontend/distros/apk/apkstep"
	"github.com/copa/frontend/distros/deb"
	"github.com/copa/frontend/distros/deb/debstep"
	"github.com/copa/frontend/distros/rpm"
	"github.com/copa/frontend/distros/rpm/rpmstep"
	"github.com/copa/frontend/distros/stepfs"
)

// Registry is every format, method and helper command. Methods of one
// format are tried in order: the package manager in the image before the
// tooling image.
var Registry = distros.MustRegistry(distros.Entries{
	Formats: []distros.Format{deb.Format{}, rpm.Format{}, apk.Format{}},
	Methods: []distros.Method{
		deb.Apt{}, deb.Tooling{},
		rpm.InImage{Manager: rpm.DNF}, rpm.InImage{Manager: rpm.Microdnf}, rpm.InImage{Manager: rpm.Tdnf},
		rpm.InImage{Manager: rpm.Yum}, rpm.InImage{Manager: rpm.Zypper}, rpm.Tooling{},
		apk.InImage{}, apk.Tooling{},
	},
	Helpers: slices.Concat(stepfs.Commands, debstep.Commands, rpmstep.Commands, apkstep.Commands),
})
