// Package distros holds what every package-manager family shares: the
// os-release of an image, turning scanner findings into a patch plan, and
// verifying the result. Each family (distros/deb for apt/dpkg) answers the
// family-specific questions: version order, name grammar, where installed
// versions are recorded and how packages get installed.
package distros
