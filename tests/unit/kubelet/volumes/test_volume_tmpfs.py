"""The volume manager's own mounts as root: tmpfs volumes made with mount(2), not mount(8) processes,
undone with umount2(2), and a failed mount(2) worded as upstream's FailedMount."""

from __future__ import annotations

import asyncio
import base64
import errno
import os
import pathlib
import subprocess
from collections.abc import Iterator

import pytest

from pyk8s.kubelet.volumes import manager as vm
from pyk8s.testing.fake_clock import FakeClock
from pyk8s.testing.fake_objects import FakeObjectSource
from pyk8s.util import mount as mountutil

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting needs root")


def _pod(volumes: list) -> dict:
    return {"metadata": {"name": "web", "namespace": "default", "uid": "u1"},
            "spec": {"volumes": volumes, "containers": [{"name": "app"}]}}


def _tmpfs_mounts(root: pathlib.Path) -> dict[str, str]:
    """mount point -> tmpfs super options, below ``root``."""
    found = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ")
            point, (fstype, _, opts) = left.split()[4], right.split()
            if point.startswith(str(root) + "/") and fstype == "tmpfs":
                found[point] = opts
    return found


@pytest.fixture
def manager(tmp_path: pathlib.Path) -> Iterator[vm.VolumeManager]:
    clock = FakeClock()
    src = FakeObjectSource(clock=clock)
    src.add({"kind": "Secret", "metadata": {"name": "sec", "namespace": "default"},
             "data": {"password": base64.b64encode(b"pw").decode()}})
    yield vm.VolumeManager(tmp_path / "pods", src, clock=clock, allocatable={"memory": "1Gi"}, can_mount=True)
    for point in sorted(_tmpfs_mounts(tmp_path), key=len, reverse=True):
        mountutil.umount(point, detach=True)


@pytest.fixture
def no_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any mount(8)/umount(8) process start fails the test."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a process was started: {args}")
    monkeypatch.setattr(asyncio, "create_subprocess_exec", refuse)
    monkeypatch.setattr(subprocess, "Popen", refuse)


async def test_tmpfs_volumes_without_processes(manager: vm.VolumeManager, tmp_path: pathlib.Path,
                                               no_processes: None) -> None:
    result = await manager.mount_pod(_pod([
        {"name": "s", "secret": {"secretName": "sec"}},
        {"name": "mem", "emptyDir": {"medium": "Memory", "sizeLimit": "2Mi"}},
    ]))
    assert result.ok, result.failures
    secret, mem = result.volumes["s"].host_path, result.volumes["mem"].host_path
    mounts = _tmpfs_mounts(tmp_path)
    assert "mode=755" in mounts[str(secret)].split(",")  # as `mount -t tmpfs -o mode=0755`
    assert "size=2048k" in mounts[str(mem)].split(",")  # as `mount -t tmpfs -o size=2097152`
    assert (secret / "password").read_text() == "pw" and result.volumes["s"].read_only
    assert (mem.stat().st_mode & 0o777) == 0o777
    await manager.mount_pod(_pod([{"name": "s", "secret": {"secretName": "sec"}}]))  # a resync mounts nothing more
    assert len(_tmpfs_mounts(tmp_path)) == 2
    await manager.unmount_pod("u1")
    assert _tmpfs_mounts(tmp_path) == {} and not (tmp_path / "pods" / "u1" / "volumes").exists()


async def test_failed_tmpfs_mount_is_a_failed_mount(manager: vm.VolumeManager, tmp_path: pathlib.Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(source: str, target: str, fstype: str, flags: int, data: str = "") -> None:
        raise mountutil.MountError(errno.EPERM, mountutil._describe(source, str(target), fstype, flags, data))
    monkeypatch.setattr(mountutil, "mount_raw", refused)
    result = await manager.mount_pod(_pod([{"name": "s", "secret": {"secretName": "sec"}}]))
    target = tmp_path / "pods" / "u1" / "volumes" / "kubernetes.io~secret" / "s"
    assert result.failures == {"s": f'MountVolume.SetUp failed for volume "s" : mount failed: '
                                    f'mount -t tmpfs -o mode=0755 tmpfs {target}: Operation not permitted (EPERM)'}
