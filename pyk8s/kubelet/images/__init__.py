"""Offline images: build small OCI images from Debian binaries, import tarballs, registry mirrors."""
