"""The volume manager: prepares a pod's volumes on the host and turns volumeMounts into CRI Mounts.

``mount_pod`` is idempotent and meant to run on every sync of the pod: it
(re)writes the API-backed volumes through the atomic writer, which is how a
ConfigMap or Secret edit reaches running containers, and refreshes projected
ServiceAccount tokens.  Directories follow upstream's layout,
``<root>/pods/<uid>/volumes/kubernetes.io~<plugin>/<volume>``:

* emptyDir: a 0777 directory; ``medium: Memory`` is a tmpfs when we may
  mount (root), else a plain directory, sized as upstream: the smallest of
  ``sizeLimit``, the pod's memory limit and the node's allocatable memory;
  ``medium: HugePages`` is refused (no hugetlbfs here); a disk ``sizeLimit``
  is enforced by eviction (``kubelet/eviction``), as upstream;
* configMap, secret, downwardAPI, projected: atomic-writer directories,
  always mounted read-only (secret and projected ones on tmpfs when root);
* hostPath: the node path after its ``type`` check;
* ephemeral: the claim ``<pod>-<volume>`` the ephemeral-volume controller
  made, mounted as a persistentVolumeClaim once it is the pod's own (a
  claim of that name the pod does not own is refused, as upstream);
* persistentVolumeClaim: the bound PV's ``hostPath`` or ``local`` path; a
  local-path provisioned PV is a filesystem of the claimed size bound into
  ``kubernetes.io~local-volume/<volume>`` (``localpath``).

A volume that cannot be set up is reported as upstream's FailedMount text,
``MountVolume.SetUp failed for volume "v" : <reason>``; the others still
mount.  ``fsGroup`` owns the writable volumes (group and setgid).
``container_mounts`` applies ``subPath``/``subPathExpr`` (created inside the
volume when missing, never escaping it).  ``unmount_pod`` undoes it all.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pathlib
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pyk8s.api.core_v1.helpers import ephemeral
from pyk8s.kubelet.kuberuntime import expansion
from pyk8s.kubelet.kuberuntime.sources import ObjectNotFound, ObjectSource
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.kubelet.volumes import emptydir, hostpath, localpath, projection
from pyk8s.kubelet.volumes.atomicwriter import AtomicWriter, PayloadError
from pyk8s.util import mount as mountutil
from pyk8s.util.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)
Obj = dict[str, Any]
_PLUGIN_DIRS = {"emptyDir": "empty-dir", "configMap": "configmap", "secret": "secret",
                "downwardAPI": "downward-api", "projected": "projected"}
UNMOUNT_RETRIES = 5


class VolumeError(Exception):
    pass


class NamedMountError(Exception):
    """A failure upstream words with another volume name (a claim's PV) or another operation."""

    def __init__(self, volume: str, message: str, operation: str = "MountVolume.SetUp") -> None:
        super().__init__(message)
        self.volume, self.operation = volume, operation


class SubPathError(Exception):
    """A volumeMount cannot be prepared (CreateContainerConfigError)."""


@dataclass
class MountedVolume:
    name: str
    host_path: pathlib.Path
    read_only: bool = False


@dataclass
class MountResult:
    volumes: dict[str, MountedVolume] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)  # volume name -> FailedMount message

    @property
    def ok(self) -> bool:
        return not self.failures


def _source_kind(volume: Obj) -> str:
    return next((k for k in volume if k != "name"), "")


class VolumeManager:
    def __init__(self, pods_dir: pathlib.Path, sources: ObjectSource, *, clock: Clock = REAL_CLOCK,
                 allocatable: Mapping[str, str] | None = None, can_mount: bool | None = None) -> None:
        self.pods_dir = pods_dir
        self.sources = sources
        self.allocatable = dict(allocatable or {})
        self.can_mount = os.geteuid() == 0 if can_mount is None else can_mount
        self.clock = clock
        self.tokens = projection.TokenCache(clock)
        self.local_path = localpath.LocalPathVolumes(self.can_mount)

    def volume_dir(self, uid: str, plugin: str, name: str) -> pathlib.Path:
        return self.pods_dir / uid / "volumes" / f"kubernetes.io~{plugin}" / name

    async def mount_pod(self, pod: Obj) -> MountResult:
        spec = pod.get("spec") or {}
        fs_group = (spec.get("securityContext") or {}).get("fsGroup")
        ctx = projection.PodContext(pod, self.sources, self.allocatable, fs_group)
        result = MountResult()
        for volume in spec.get("volumes") or []:
            name = volume.get("name", "")
            try:
                result.volumes[name] = await self._set_up(ctx, volume)
            except NamedMountError as exc:
                result.failures[name] = f'{exc.operation} failed for volume "{exc.volume}" : {exc}'
            except (VolumeError, projection.ProjectionError, hostpath.HostPathError, PayloadError,
                    localpath.LocalPathError, ObjectNotFound, OSError) as exc:
                result.failures[name] = f'MountVolume.SetUp failed for volume "{name}" : {exc}'
        return result

    async def _set_up(self, ctx: projection.PodContext, volume: Obj) -> MountedVolume:
        kind, name = _source_kind(volume), volume.get("name", "")
        source = volume.get(kind) or {}
        uid = (ctx.pod.get("metadata") or {}).get("uid", "")
        if kind == "hostPath":
            return MountedVolume(name, hostpath.check_type(source.get("path", ""), source.get("type")))
        if kind == "persistentVolumeClaim":
            return await self._claim(ctx, name, source)
        if kind == "ephemeral":
            # A generic ephemeral volume is the claim the ephemeral-volume controller made for this pod.
            return await self._claim(ctx, name, {"claimName": ephemeral.claim_name(ctx.pod, volume)}, owned=True)
        if kind not in _PLUGIN_DIRS:
            raise VolumeError(f"volume type {kind or '<none>'} is not supported by this kubelet")
        target = self.volume_dir(uid, _PLUGIN_DIRS[kind], name)
        if kind == "emptyDir":
            await self._empty_dir(target, source, ctx)
            return MountedVolume(name, target)
        if kind in ("secret", "projected") and not _exists(target):
            await self._tmpfs(target, None)
        AtomicWriter(target).write(await self._payload(ctx, kind, source))
        return MountedVolume(name, target, read_only=True)

    async def _payload(self, ctx: projection.PodContext, kind: str, source: Obj) -> projection.Payload:
        if kind == "configMap":
            return await projection.configmap_payload(ctx, source)
        if kind == "secret":
            return await projection.secret_payload(ctx, source)
        if kind == "downwardAPI":
            return projection.downward_payload(ctx, source)
        return await projection.projected_payload(ctx, source, self.tokens)

    async def _empty_dir(self, target: pathlib.Path, source: Obj, ctx: projection.PodContext) -> None:
        if _exists(target):
            return
        medium = str(source.get("medium") or "")
        if medium.startswith("HugePages"):
            raise VolumeError(emptydir.huge_pages_refusal(ctx.pod))
        if medium == "Memory":
            await self._tmpfs(target, emptydir.memory_size(ctx.pod, source, self.allocatable))
        _own_shared_dir(target, ctx.fs_group)

    async def _tmpfs(self, target: pathlib.Path, size: int | None) -> None:
        _make_dir(target)
        if not self.can_mount:
            return
        # mount(2) of a tmpfs takes microseconds: called inline, no process, no thread hop.
        try:
            if size:
                mountutil.mount_tmpfs(target, size=size)
            else:
                mountutil.mount_tmpfs(target, mode=0o755)
        except mountutil.MountError as exc:
            raise VolumeError(f"mount failed: {exc}") from None

    async def _claim(self, ctx: projection.PodContext, name: str, source: Obj, *, owned: bool = False) -> MountedVolume:
        claim_name = source.get("claimName", "")
        claim = await self.sources.get_persistent_volume_claim(ctx.namespace, claim_name)
        if owned and (why := ephemeral.not_for_pod(ctx.pod, claim)) is not None:
            raise VolumeError(why)
        phase = (claim.get("status") or {}).get("phase", "")
        pv_name = (claim.get("spec") or {}).get("volumeName", "")
        if phase != "Bound" or not pv_name:
            raise VolumeError(f'PVC {ctx.namespace}/{claim_name} has non-bound phase ("{phase}") '
                              f'or empty pvc.Spec.VolumeName ("{pv_name}")')
        pv = await self.sources.get_persistent_volume(pv_name)
        read_only = bool(source.get("readOnly"))
        # Past the claim, upstream names the PersistentVolume in its messages, not the pod's volume.
        try:
            return MountedVolume(name, await self._pv_path(ctx, name, pv), read_only)
        except (VolumeError, hostpath.HostPathError, localpath.LocalPathError, OSError) as exc:
            raise NamedMountError(pv_name, str(exc)) from None

    async def _pv_path(self, ctx: projection.PodContext, name: str, pv: Obj) -> pathlib.Path:
        pv_spec = pv.get("spec") or {}
        if localpath.is_local_path(pv):
            target = self.volume_dir((ctx.pod.get("metadata") or {}).get("uid", ""), "local-volume", name)
            return await self.local_path.set_up(pv, target)
        if pv_spec.get("hostPath"):
            hp = pv_spec["hostPath"]
            return hostpath.check_type(hp.get("path", ""), hp.get("type"))
        if pv_spec.get("local"):
            path = str(pv_spec["local"].get("path") or "")
            if not path:
                raise VolumeError("local volume source is nil or local path is not set")
            if not _exists(pathlib.Path(path)):
                # The local plugin looks at the path when it builds its mounter (upstream's NewMounter).
                raise NamedMountError(pv["metadata"]["name"], f'path "{path}" does not exist',
                                      "MountVolume.NewMounter initialization")
            return pathlib.Path(path)
        raise VolumeError(f"persistentvolume {pv['metadata']['name']}: volume type is not supported by this kubelet")

    async def unmount_pod(self, uid: str) -> None:
        """Unmounts and removes everything under the pod's volumes dir (after its containers are gone).

        A runtime may release its last reference to a mount a moment after the
        container is removed, so a busy mount is retried, then detached lazily."""
        root = self.pods_dir / uid / "volumes"
        devices = localpath.devices_under(root)
        for point in sorted(_mounts_under(root), key=len, reverse=True):
            for attempt in range(UNMOUNT_RETRIES):
                if await _unmount(point) or point not in _mounts_under(root):
                    break
                await self.clock.sleep(0.1 * (attempt + 1))
            else:
                await _unmount(point, detach=True)
        await self.local_path.release(devices, self.pods_dir)
        if not _mounts_under(root):
            shutil.rmtree(root, ignore_errors=True)
        self.tokens.forget_pod(uid)


async def _unmount(point: str, *, detach: bool = False) -> bool:
    """umount2(2) of ``point``; False when it failed (busy, already gone).

    Unmounting a token or secret tmpfs takes microseconds and runs inline; a
    Memory emptyDir may hold enough pages that freeing them is worth a thread."""
    try:
        if "/kubernetes.io~empty-dir/" in point:
            await asyncio.to_thread(mountutil.umount, point, detach=detach)
        else:
            mountutil.umount(point, detach=detach)
    except OSError as exc:
        log.debug("unmounting %s: %s", point, exc)
        return False
    return True


def _exists(path: pathlib.Path) -> bool:
    return path.exists()


def _make_dir(path: pathlib.Path) -> None:
    path.mkdir(parents=True, exist_ok=True)


def _own_shared_dir(target: pathlib.Path, fs_group: int | None) -> None:
    """emptyDir permissions: world-writable; with fsGroup, group-owned and setgid."""
    _make_dir(target)
    target.chmod(0o777)
    if fs_group is not None:
        os.chown(target, -1, int(fs_group))
        target.chmod(0o2777)


def _mounts_under(root: pathlib.Path) -> list[str]:
    try:
        with open("/proc/self/mountinfo") as f:
            points = [line.split()[4] for line in f]
    except OSError:
        return []
    prefix = str(root) + "/"
    return [p for p in points if p.startswith(prefix)]


def _sub_path(mount: Obj, env: Mapping[str, str]) -> str:
    if mount.get("subPathExpr"):
        # As upstream's ExpandContainerVolumeMounts: every referenced variable must have a non-empty value.
        missing: set[str] = set()

        def lookup(name: str) -> str:
            if not env.get(name):
                missing.add(name)
            return env.get(name, "")

        expanded = expansion.expand(mount["subPathExpr"], lookup)
        if missing:
            raise SubPathError(f"missing value for {', '.join(sorted(missing))}")
        return expanded
    return str(mount.get("subPath") or "")


def _prepare_sub_path(volume: MountedVolume, sub: str, mount_name: str, container_name: str) -> pathlib.Path:
    if os.path.isabs(sub):
        raise SubPathError(f"error SubPath `{sub}` must not be an absolute path")
    if ".." in sub.split("/"):
        raise SubPathError(f"unable to provision SubPath `{sub}`: must not contain '..'")
    base = pathlib.Path(os.path.realpath(volume.host_path))
    path = volume.host_path / sub
    if not path.exists() and not path.is_symlink():
        try:
            path.mkdir(parents=True, mode=base.stat().st_mode & 0o7777)
        except OSError:
            raise SubPathError(f'failed to create subPath directory for volumeMount "{mount_name}" of container '
                               f'"{container_name}"') from None
    resolved = pathlib.Path(os.path.realpath(path))
    if resolved != base and base not in resolved.parents:
        raise SubPathError(f"subpath {str(resolved)!r} not within volume path {str(base)!r}")
    return resolved


def container_mounts(container: Obj, volumes: Mapping[str, MountedVolume], env: Mapping[str, str]) -> list[ri.Mount]:
    """The container's volumeMounts as CRI Mounts; raises SubPathError with upstream's wording."""
    out = []
    name = container.get("name", "")
    for mount in container.get("volumeMounts") or []:
        volume = volumes.get(mount.get("name", ""))
        if volume is None:
            raise SubPathError(f'cannot find volume "{mount.get("name", "")}" to mount into container "{name}"')
        sub = _sub_path(mount, env)
        host = _prepare_sub_path(volume, sub, mount.get("name", ""), name) if sub else volume.host_path
        out.append(ri.Mount(container_path=mount.get("mountPath", ""), host_path=str(host),
                            readonly=bool(mount.get("readOnly")) or volume.read_only))
    return out
