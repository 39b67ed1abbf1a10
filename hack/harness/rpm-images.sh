# Sourced by hack/harness.sh: the RPM-family test images (rpm-images, part of images).
# shellcheck shell=bash disable=SC2034,SC2154
cmd_rpm_images() {
	need_up
	build_rpms
}
