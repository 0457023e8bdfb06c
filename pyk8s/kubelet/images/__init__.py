"""Offline images: built from Debian packages (build, recipes, debian, oci), named as users name them (catalog),
served by a local registry that containerd uses as its mirror (registry, mirrors), or imported as tarballs."""
