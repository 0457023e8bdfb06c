"""Removing a pod's cgroup once its containers are gone (the part of upstream's pod container manager we need).

The runtime creates ``<root>[/burstable|/besteffort]/pod<uid>`` in every
cgroup v1 hierarchy when it starts the first container (the sandbox's
cgroup parent) and removes only its containers' own cgroups, so the pod's
directories are ours to remove.  Only empty directories go (rmdir refuses
the others), so a pod with a process left is never touched.
"""

from __future__ import annotations

import pathlib

CGROUP_FS = pathlib.Path("/sys/fs/cgroup")
TIERS = ("", "/burstable", "/besteffort")


def remove_pod_cgroups(cgroup_root: str, uid: str, fs: pathlib.Path = CGROUP_FS) -> None:
    if not cgroup_root or not fs.is_dir():
        return
    for hierarchy in fs.iterdir():
        for tier in TIERS:
            path = hierarchy / f"{cgroup_root.strip('/')}{tier}/pod{uid}"
            try:
                path.rmdir()
            except OSError:
                pass
