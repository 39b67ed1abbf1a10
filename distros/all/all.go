// Package all is the one registry of the formats, methods and helper
// commands copa/frontend knows. Adding a family is a package under
// distros/ plus its entries here (docs/architecture.md).
package all

import (
	"github.com/copa/frontend/distros"
	"github.com/copa/frontend/distros/apk"
	"github.com/copa/frontend/distros/deb"
	"github.com/copa/frontend/distros/deb/debstep"
	"github.com/copa/frontend/distros/rpm"
)

// Registry is every format, method and helper command. Methods of one
// format are tried in order: apt in the image before the tooling image.
var Registry = distros.MustRegistry(distros.Entries{
	Formats: []distros.Format{deb.Format{}, rpm.Format{}, apk.Format{}},
	Methods: []distros.Method{deb.Apt{}, deb.Tooling{}},
	Helpers: debstep.Commands,
})
