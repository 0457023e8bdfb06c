"""Which references each offline image answers to.

The names are those the seeds, the Kubernetes docs and tutorials use, so their
manifests run unchanged offline: every reference below resolves, through the
local registry mirror or an import, to one of our images, whose
``io.pyk8s.image.source`` label says what it really holds.
"""

from __future__ import annotations

import posixpath

IMAGES: dict[str, tuple[str, ...]] = {
    "busybox": (
        "docker.io/library/busybox:latest", "docker.io/library/busybox:1.28.4", "docker.io/library/busybox:1.28",
        "docker.io/library/busybox:1.35", "docker.io/library/busybox:1.36", "docker.io/library/busybox:1.36.1",
        "docker.io/library/busybox:1.37", "docker.io/library/busybox:stable", "docker.io/library/busybox:glibc",
    ),
    "nginx": (
        "docker.io/library/nginx:latest", "docker.io/library/nginx:stable", "docker.io/library/nginx:1.7.9",
        "docker.io/library/nginx:1.9.1", "docker.io/library/nginx:1.14.2", "docker.io/library/nginx:1.15.4",
        "docker.io/library/nginx:1.16.1", "docker.io/library/nginx:1.21", "docker.io/library/nginx:1.22",
        "docker.io/library/nginx:1.22.1", "docker.io/library/nginx:1.24", "docker.io/library/nginx:1.24.0",
        "docker.io/library/nginx:1.25", "docker.io/library/nginx:1.27",
        "registry.k8s.io/nginx-slim:0.8", "k8s.gcr.io/nginx-slim:0.8",
        "registry.cn-hangzhou.aliyuncs.com/hujiaming/nginx:1.24.0",
    ),
    # The demo app of many tutorials (the seeds' StatefulSet update goes from v1 to v2).
    "myapp-v1": ("docker.io/ikubernetes/myapp:v1",),
    "myapp-v2": ("docker.io/ikubernetes/myapp:v2",),
    "myapp-v3": ("docker.io/ikubernetes/myapp:v3",),
    "dnsutils": (
        "registry.k8s.io/e2e-test-images/jessie-dnsutils:1.3", "gcr.io/kubernetes-e2e-test-images/dnsutils:1.3",
        "docker.io/tutum/dnsutils:latest", "docker.io/library/dnsutils:latest",
    ),
    # The Job example of the Kubernetes docs computes pi with perl (perl:5.34.0; the seeds say just "perl").
    "perl": (
        "docker.io/library/perl:latest", "docker.io/library/perl:5", "docker.io/library/perl:5.34",
        "docker.io/library/perl:5.34.0", "docker.io/library/perl:5.36", "docker.io/library/perl:slim",
    ),
    "pause": ("registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.10", "k8s.gcr.io/pause:3.9"),
}

NAMES = tuple(IMAGES)
PAUSE_REF = "registry.k8s.io/pause:3.9"
BUSYBOX_REF = "docker.io/library/busybox:1.36"
NGINX_REF = "docker.io/library/nginx:1.24"


def split(ref: str) -> tuple[str, str, str]:
    """``host/path:tag`` -> (host, path, tag)."""
    name, _, tag = ref.rpartition(":")
    host, _, path = name.partition("/")
    return host, path, tag


def registry_path(ref: str) -> str:
    """Where a reference lives in the local registry: its path, as a mirror of its host asks for it."""
    _, path, tag = split(ref)
    return f"{path}:{tag}"


def mirrored_hosts() -> list[str]:
    """Every registry host an offline reference names (each gets a hosts.toml pointing at the local registry)."""
    return sorted({split(ref)[0] for refs in IMAGES.values() for ref in refs})


def image_of(ref: str) -> str | None:
    """The offline image a (normalised) reference names, if any."""
    return next((name for name, refs in IMAGES.items() if ref in refs), None)


def normalise(ref: str) -> str:
    """``nginx`` -> ``docker.io/library/nginx:latest``, as the runtime reads an image name."""
    base = ref.split("@", 1)[0]
    name, tag = base.rsplit(":", 1) if ":" in posixpath.basename(base) else (base, "latest")
    first = name.split("/", 1)[0]
    if "/" not in name:
        name = f"docker.io/library/{name}"
    elif "." not in first and ":" not in first and first != "localhost":
        name = f"docker.io/{name}"
    return f"{name}:{tag}"
