"""local-path volumes with their size enforced: each is a filesystem of exactly the claimed size.

k3s's local-path provisioner hands out plain directories, so a claim of 1Gi
can fill the node's disk.  Here a volume the local-path provisioner made
(``pv.kubernetes.io/provisioned-by: rancher.io/local-path``) is backed by a
sparse-free ext4 image ``<dir>.img`` of the PV's capacity (``fallocate``,
then ``mkfs.ext4 -m 0``: no blocks reserved, so the whole size is usable),
loop-mounted once per node at the PV's directory (the "global mount") and
bind-mounted from there into each pod's volume directory
``pods/<uid>/volumes/kubernetes.io~local-volume/<name>``; a write past the
size fails with ENOSPC in the container.  ``release`` runs after a pod's
volume directories were unmounted: a global mount that no pod directory
binds any more is unmounted, which also frees its loop device (``mount -o
loop`` sets autoclear).  The data stays in the image until the provisioner's
helper pod removes the directory and the image.

Without the right to mount (not root) or where a step fails (no loop
devices, no ``mkfs.ext4``) the volume is the plain directory, as in k3s,
and the kubelet logs once that sizes are not enforced.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pathlib
from collections.abc import Iterable
from typing import Any

from pyk8s.machinery import quantity
from pyk8s.util import mount as mountutil

log = logging.getLogger(__name__)
Obj = dict[str, Any]
PROVISIONER = "rancher.io/local-path"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
IMAGE_SUFFIX = ".img"


class LocalPathError(Exception):
    pass


def is_local_path(pv: Obj) -> bool:
    annotations = (pv.get("metadata") or {}).get("annotations") or {}
    spec = pv.get("spec") or {}
    return annotations.get(PROVISIONED_BY) == PROVISIONER and bool((spec.get("hostPath") or spec.get("local") or {})
                                                                   .get("path"))


def volume_path(pv: Obj) -> pathlib.Path:
    spec = pv.get("spec") or {}
    return pathlib.Path((spec.get("hostPath") or spec.get("local") or {})["path"])


def capacity_bytes(pv: Obj) -> int:
    return quantity.parse(str(((pv.get("spec") or {}).get("capacity") or {}).get("storage") or "0")).int_value()


def image_path(path: pathlib.Path) -> pathlib.Path:
    return path.with_name(path.name + IMAGE_SUFFIX)


async def _run(*cmd: str) -> tuple[int, str]:
    try:
        proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.DEVNULL,
                                                    stderr=asyncio.subprocess.PIPE)
    except FileNotFoundError:
        return 127, f"{cmd[0]}: not found"
    _, err = await proc.communicate()
    return proc.returncode or 0, err.decode(errors="replace").strip()


def mounts() -> list[tuple[str, str]]:
    """(major:minor, mount point) of every mount the kubelet sees."""
    try:
        with open("/proc/self/mountinfo") as f:
            return [(parts[2], parts[4]) for parts in (line.split() for line in f)]
    except OSError:
        return []


def is_mount_point(path: pathlib.Path) -> bool:
    return any(point == str(path) for _, point in mounts())


class LocalPathVolumes:
    def __init__(self, can_mount: bool) -> None:
        self.can_mount = can_mount
        self._warned = False
        # One at a time: a release deciding "no pod binds it" must not interleave with a new bind,
        # or the image could end up loop-mounted twice.
        self._lock = asyncio.Lock()

    def _unenforced(self, why: str) -> None:
        if not self._warned:
            log.warning("local-path volumes are plain directories, their sizes are not enforced: %s", why)
            self._warned = True

    async def set_up(self, pv: Obj, target: pathlib.Path) -> pathlib.Path:
        """The directory to give the pod: ``target`` bound to the sized filesystem, or the plain directory."""
        async with self._lock:
            return await self._set_up(pv, target)

    async def _set_up(self, pv: Obj, target: pathlib.Path) -> pathlib.Path:
        path = volume_path(pv)
        _make_dir(path)
        if not self.can_mount:
            self._unenforced("the kubelet may not mount (not root)")
            return path
        if not is_mount_point(path):
            await self._mount_image(path, capacity_bytes(pv))
        if not is_mount_point(target):
            _make_dir(target)
            try:  # a bind mount(2) takes microseconds: inline
                mountutil.bind(path, target)
            except mountutil.MountError as exc:
                raise LocalPathError(f"bind mount of {path} failed: {exc}") from None
        return target

    async def _mount_image(self, path: pathlib.Path, size: int) -> None:
        image = image_path(path)
        fresh = not _exists(image)
        if fresh:
            await self._make_image(image, size)
        # Once per volume and node, not per pod: mount(8) attaches the loop device (with autoclear).
        code, err = await _run("mount", "-o", "loop", str(image), str(path))
        if code:
            raise LocalPathError(f"mount of {image} failed: {err}")
        if fresh:
            _open_up(path)  # as k3s's provisioner leaves its directories: any container user may write

    async def _make_image(self, image: pathlib.Path, size: int) -> None:
        if size <= 0:
            raise LocalPathError("volume has no capacity")
        partial = image.with_name(image.name + ".tmp")
        for cmd in (("fallocate", "-l", str(size), str(partial)),
                    ("mkfs.ext4", "-q", "-F", "-m", "0", "-E", "lazy_itable_init=0", str(partial))):
            code, err = await _run(*cmd)
            if code:
                partial.unlink(missing_ok=True)
                raise LocalPathError(f"creating a {size}-byte filesystem failed: {cmd[0]}: {err}")
        os.replace(partial, image)

    async def release(self, devices: Iterable[str], pods_dir: pathlib.Path) -> None:
        """Unmount the global mounts of ``devices`` that no pod directory binds any more."""
        async with self._lock:
            await self._release(set(devices), str(pods_dir) + "/")

    async def _release(self, devices: set[str], prefix: str) -> None:
        current = mounts()
        for dev in devices:
            points = [p for d, p in current if d == dev]
            if any(p.startswith(prefix) for p in points):
                continue
            for point in points:
                if _exists(image_path(pathlib.Path(point))):
                    try:  # the last reference to the ext4 filesystem: unmounting flushes it, off the loop
                        await asyncio.to_thread(mountutil.umount, point)
                    except OSError as exc:
                        log.warning("local-path: unmounting %s failed: %s", point, exc)


def _make_dir(path: pathlib.Path) -> None:
    path.mkdir(parents=True, exist_ok=True)


def _exists(path: pathlib.Path) -> bool:
    return path.exists()


def _open_up(path: pathlib.Path) -> None:
    path.chmod(0o777)


def devices_under(root: pathlib.Path) -> list[str]:
    prefix = str(root) + "/"
    return [dev for dev, point in mounts() if point.startswith(prefix)]
