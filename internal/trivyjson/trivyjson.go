// Package trivyjson is the part of Trivy's JSON report (SchemaVersion 2,
// Trivy's pkg/types) that the harness's report writers fill: the reports
// of the test images are written in the shape Trivy gives real ones.
// Empty fields are left out, as Trivy leaves most of them out.
package trivyjson

// Report is a whole report.
type Report struct {
	SchemaVersion int
	CreatedAt     string
	ArtifactName  string
	ArtifactType  string
	Metadata      Metadata
	Results       []Result `json:",omitempty"`
}

// Metadata is what Trivy says of the scanned image.
type Metadata struct {
	OS          OS
	RepoTags    []string `json:",omitempty"`
	ImageConfig ImageConfig
}

// OS is the detected OS: Family is the distro's family name, Name its version.
type OS struct{ Family, Name string }

// ImageConfig is the part of the image config Trivy copies.
type ImageConfig struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}

// Result is one scanned target, e.g. the OS packages.
type Result struct {
	Target          string
	Class           string
	Type            string
	Packages        []Package       `json:",omitempty"`
	Vulnerabilities []Vulnerability `json:",omitempty"`
}

// Identifier names a package by package URL.
type Identifier struct {
	PURL string
	UID  string `json:",omitempty"`
}

// Package is one installed package (--list-all-pkgs).
type Package struct {
	ID         string
	Name       string
	Identifier Identifier
	Version    string
	Release    string `json:",omitempty"`
	Epoch      int    `json:",omitempty"`
	Arch       string
	SrcName    string
	SrcVersion string
	SrcRelease string   `json:",omitempty"`
	SrcEpoch   int      `json:",omitempty"`
	Licenses   []string `json:",omitempty"`
}

// DataSource is where a vulnerability's data comes from.
type DataSource struct{ ID, Name, URL string }

// Vulnerability is one finding.
type Vulnerability struct {
	VulnerabilityID  string
	PkgID            string
	PkgName          string
	PkgIdentifier    Identifier
	InstalledVersion string
	FixedVersion     string `json:",omitempty"`
	Status           string
	SeveritySource   string      `json:",omitempty"`
	PrimaryURL       string      `json:",omitempty"`
	DataSource       *DataSource `json:",omitempty"`
	Title            string      `json:",omitempty"`
	Description      string      `json:",omitempty"`
	Severity         string
	VendorSeverity   map[string]int `json:",omitempty"`
	References       []string       `json:",omitempty"`
	PublishedDate    string         `json:",omitempty"`
	LastModifiedDate string         `json:",omitempty"`
}
