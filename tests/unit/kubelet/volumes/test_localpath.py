"""local-path volumes on the node: a loop-mounted filesystem of the claimed size, bound into the pod,
unmounted (and its loop device freed) once no pod uses it."""

from __future__ import annotations

import errno
import os
import pathlib
import subprocess

import pytest

from pyk8s.kubelet.volumes import localpath


def pv(path: pathlib.Path, size: str = "8Mi", *, provisioner: str = "rancher.io/local-path") -> dict:
    return {"metadata": {"name": "pvc-1", "annotations": {"pv.kubernetes.io/provisioned-by": provisioner}},
            "spec": {"capacity": {"storage": size}, "hostPath": {"path": str(path), "type": "DirectoryOrCreate"}}}


def _fill(path: pathlib.Path, mib: int) -> None:
    with open(path, "wb") as f:
        for _ in range(mib):
            f.write(b"\0" * (1024 * 1024))
            f.flush()
            os.fsync(f.fileno())


def _umount(path: pathlib.Path, *flags: str) -> None:
    subprocess.run(["umount", *flags, str(path)], check=not flags)


def _loops(image: pathlib.Path) -> str:
    return subprocess.run(["losetup", "-j", str(image)], capture_output=True, text=True, check=False).stdout


def test_recognises_provisioned_volumes(tmp_path: pathlib.Path) -> None:
    assert localpath.is_local_path(pv(tmp_path / "v"))
    assert not localpath.is_local_path(pv(tmp_path / "v", provisioner="example.com/other"))
    assert localpath.capacity_bytes(pv(tmp_path / "v", "16Mi")) == 16 * 1024 * 1024


async def test_without_mount_rights_a_plain_directory(tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture) -> None:
    volumes = localpath.LocalPathVolumes(can_mount=False)
    got = await volumes.set_up(pv(tmp_path / "data" / "v"), tmp_path / "pod" / "v")
    assert got == tmp_path / "data" / "v" and got.is_dir()
    assert "sizes are not enforced" in caplog.text


@pytest.mark.skipif(os.geteuid() != 0, reason="loop mounts need root")
async def test_size_enforced_and_released(tmp_path: pathlib.Path) -> None:
    data, pods = tmp_path / "storage", tmp_path / "pods"
    volume = pv(data / "v")
    volumes = localpath.LocalPathVolumes(can_mount=True)
    targets = [pods / uid / "volumes" / "kubernetes.io~local-volume" / "www" for uid in ("a", "b")]
    try:
        for target in targets:  # two pods on the node share the one filesystem
            assert await volumes.set_up(volume, target) == target
        assert localpath.is_mount_point(data / "v") and (data / "v.img").stat().st_size == 8 * 1024 * 1024
        (targets[0] / "note").write_text("kept")
        assert (targets[1] / "note").read_text() == "kept"
        with pytest.raises(OSError) as exc:
            _fill(targets[0] / "big", 16)
        assert exc.value.errno == errno.ENOSPC
        (targets[0] / "big").unlink()
        # Pod a goes: the global mount stays for pod b; then b goes and the filesystem is unmounted.
        for i, target in enumerate(targets):
            devices = localpath.devices_under(pods / ("a", "b")[i])
            _umount(target)
            await volumes.release(devices, pods)
            assert localpath.is_mount_point(data / "v") == (i == 0)
        assert _loops(data / "v.img") == ""
        # Mounted again, the data is still there.
        await volumes.set_up(volume, targets[0])
        assert (targets[0] / "note").read_text() == "kept"
    finally:
        for point in (*targets, data / "v"):
            if localpath.is_mount_point(point):
                _umount(point, "-l")
