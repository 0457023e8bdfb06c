"""The legacy ``/var/log/containers`` symlinks log shippers read (upstream ``legacyLogSymlink``).

Each started container gets ``<pod>_<namespace>_<container>-<id>.log`` (cut
to ext4's 255-character file names) pointing at its CRI log file under the
pod's log directory; the link goes when the container is removed.
"""

from __future__ import annotations

import os
import pathlib

SUFFIX = ".log"
MAX_NAME = 255


def link_path(directory: pathlib.Path, pod: str, namespace: str, container: str, container_id: str) -> pathlib.Path:
    name = f"{pod}_{namespace}_{container}-{container_id}"[:MAX_NAME - len(SUFFIX)]
    return directory / (name + SUFFIX)


def create(directory: pathlib.Path, link: pathlib.Path, target: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    if link.is_symlink():
        link.unlink()
    os.symlink(target, link)


def remove(directory: pathlib.Path, container_id: str) -> None:
    for link in directory.glob(f"*-{container_id}{SUFFIX}"):
        if link.is_symlink():
            link.unlink()
