"""Docker image references: validation, the default ``:latest`` tag, the registry host.

The grammar is the distribution ``reference`` package's (lowercase path
components separated by ``/``, an optional ``host[:port]`` first component,
``:tag`` and/or ``@algo:hex``).  Errors read as upstream's kubelet words
them inside InvalidImageName: ``couldn't parse image name "X": invalid
reference format``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE = re.compile(rf"^((?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*)(?::({_TAG}))?(?:@({_DIGEST}))?$")
_HEX64 = re.compile(r"^[a-f0-9]{64}$")
DOCKER_HUB = "docker.io"
MAX_NAME = 255


class InvalidReference(ValueError):
    pass


@dataclass(frozen=True)
class ImageRef:
    domain: str
    path: str  # repository path within the registry (library/busybox)
    tag: str
    digest: str


def parse(image: str) -> ImageRef:
    if _HEX64.match(image):
        raise InvalidReference(f"couldn't parse image name \"{image}\": invalid repository name ({image}), "
                               "cannot specify 64-byte hexadecimal strings")
    remote = _remote_name(image)
    if remote.lower() != remote:
        raise InvalidReference(f'couldn\'t parse image name "{image}": invalid reference format: repository name '
                               f"({remote}) must be lowercase")
    m = _REFERENCE.match(image)
    if m is None:
        raise InvalidReference(f'couldn\'t parse image name "{image}": invalid reference format')
    name, tag, digest = m.group(1), m.group(2) or "", m.group(3) or ""
    if len(name) > MAX_NAME:
        raise InvalidReference(f'couldn\'t parse image name "{image}": repository name must not be more than '
                               f"{MAX_NAME} characters")
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        domain, path = first, rest
    else:
        domain, path = DOCKER_HUB, name
    if domain == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    if domain == "index.docker.io":
        domain = DOCKER_HUB
    return ImageRef(domain, path, tag, digest)


def _remote_name(image: str) -> str:
    """The repository path as the normalizing parser checks its case: after the registry host (docker.io's
    ``library/`` added), up to the first ``:`` (upstream ``splitDockerDomain``, then the cut at the tag)."""
    first, slash, rest = image.partition("/")
    if slash and (any(c in first for c in ".:") or first == "localhost" or first.lower() != first):
        domain, remainder = first, rest
    else:
        domain, remainder = DOCKER_HUB, image
    if domain in (DOCKER_HUB, "index.docker.io") and "/" not in remainder:
        remainder = f"library/{remainder}"
    return remainder.partition(":")[0]


def with_default_tag(image: str) -> str:
    """``image`` with ``:latest`` appended when it has neither tag nor digest."""
    ref = parse(image)
    if not ref.digest and not ref.tag:
        return f"{image}:latest"
    return image
