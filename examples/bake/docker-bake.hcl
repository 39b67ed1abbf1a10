# Patches every image of the matrix, images by tags, with the one
# Patchfile beside this file, and pushes each as <image>:<tag>-patched.
# A bake runs its targets as concurrent builds on one builder: the images
# of one release, architecture and apt sources share the package lists,
# fetched once, and the downloaded packages, each fetched once
# (docs/bulk.md).
#
#   trivy ... -o reports/<image>-<tag>.json for each image (see patch.yml)
#   docker buildx bake --push
#   SOURCE=ghcr.io/acme docker buildx bake --push

# Where the images come from, and where the patched ones go.
variable "SOURCE" {
  default = "registry.example.com/acme"
}

target "patch" {
  name = "${image}-${replace(tag, ".", "-")}"
  matrix = {
    image = ["web", "api", "worker"]
    tag   = ["1.4.2", "1.5.0"]
  }
  context    = "."
  dockerfile = "Patchfile"
  args = {
    IMAGE  = "${SOURCE}/${image}:${tag}"
    REPORT = "reports/${image}-${tag}.json"
  }
  tags = ["${SOURCE}/${image}:${tag}-patched"]
}

group "default" {
  targets = ["patch"]
}
