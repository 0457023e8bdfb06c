"""mount(2)/umount2(2) without mount(8): option translation, the mounts made, and errno-based errors."""

from __future__ import annotations

import errno
import os
import pathlib
from collections.abc import Iterator

import pytest

from pyk8s.util import mount as m

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="mounting needs root")


@pytest.mark.parametrize(("options", "flags", "data"), [
    ([], 0, ""),
    (["size=1048576"], 0, "size=1048576"),
    (["mode=0755"], 0, "mode=0755"),
    (["ro", "nosuid", "nodev", "noexec", "size=64m", "mode=0700"],
     m.MS_RDONLY | m.MS_NOSUID | m.MS_NODEV | m.MS_NOEXEC, "size=64m,mode=0700"),
    (["bind"], m.MS_BIND, ""),
    (["rbind"], m.MS_BIND | m.MS_REC, ""),
    (["remount", "bind", "ro"], m.MS_REMOUNT | m.MS_BIND | m.MS_RDONLY, ""),
    (["ro", "rw"], 0, ""),  # a later option wins, as in mount(8)
    (["noexec", "exec", "defaults", ""], 0, ""),
    (["rprivate"], m.MS_PRIVATE | m.MS_REC, ""),
    (["uid=0", "gid=5"], 0, "uid=0,gid=5"),
])
def test_options_become_flags_and_data(options: list[str], flags: int, data: str) -> None:
    assert m.mount_options(options) == (flags, data)


def test_options_only_mount8_knows_are_refused() -> None:
    with pytest.raises(ValueError, match="'loop' needs mount"):
        m.mount_options(["loop"])


def test_flag_values_are_the_kernels() -> None:
    assert (m.MS_RDONLY, m.MS_NOSUID, m.MS_NODEV, m.MS_NOEXEC, m.MS_REMOUNT) == (1, 2, 4, 8, 32)
    assert (m.MS_BIND, m.MS_REC, m.MNT_DETACH) == (4096, 16384, 2)


def test_error_names_the_command_line_and_errno() -> None:
    exc = m.MountError(errno.ENOENT, m._describe("tmpfs", "/x", "tmpfs", m.MS_NOSUID, "size=10"))
    assert exc.errno == errno.ENOENT and isinstance(exc, OSError)
    assert str(exc) == "mount -t tmpfs -o nosuid,size=10 tmpfs /x: No such file or directory (ENOENT)"
    assert m._describe("/a", "/b", "", m.MS_BIND | m.MS_REC, "") == "mount -o rbind /a /b"


def _mountinfo(point: pathlib.Path) -> tuple[str, str, str] | None:
    """(per-mount options, fstype, super options) of the top mount at ``point``."""
    found = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ")
            fields = left.split()
            if fields[4] == str(point):
                fstype, _source, super_opts = right.split()
                found = (fields[5], fstype, super_opts)
    return found


@pytest.fixture
def scratch(tmp_path: pathlib.Path) -> Iterator[pathlib.Path]:
    yield tmp_path
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    for point in sorted((p for p in points if p.startswith(str(tmp_path) + "/")), key=len, reverse=True):
        m.umount(point, detach=True)


@root_only
def test_tmpfs_with_size_mode_and_flags(scratch: pathlib.Path) -> None:
    target = scratch / "t"
    target.mkdir()
    m.mount_tmpfs(target, size=1024 * 1024, mode=0o750, options=["nosuid", "nodev", "noexec"])
    opts, fstype, super_opts = _mountinfo(target) or ("", "", "")
    assert fstype == "tmpfs" and {"nosuid", "nodev", "noexec", "rw"} <= set(opts.split(","))
    assert {"size=1024k", "mode=750"} <= set(super_opts.split(","))
    assert (target.stat().st_mode & 0o777) == 0o750
    m.umount(target)
    assert _mountinfo(target) is None


@root_only
def test_read_only_bind_and_remount(scratch: pathlib.Path) -> None:
    src, dst = scratch / "src", scratch / "dst"
    src.mkdir()
    dst.mkdir()
    (src / "f").write_text("x")
    m.bind(src, dst, read_only=True)
    assert (dst / "f").read_text() == "x"
    assert "ro" in (_mountinfo(dst) or ("",))[0].split(",")
    with pytest.raises(OSError) as exc:
        (dst / "g").write_text("y")
    assert exc.value.errno == errno.EROFS
    m.mount("", dst, options=["remount", "bind", "rw"])
    (dst / "g").write_text("y")
    assert (src / "g").read_text() == "y"
    m.umount(dst, detach=True)
    assert _mountinfo(dst) is None


@root_only
def test_failures_carry_errno(scratch: pathlib.Path) -> None:
    with pytest.raises(m.MountError) as exc:
        m.mount_tmpfs(scratch / "missing", mode=0o755)
    assert exc.value.errno == errno.ENOENT
    assert str(exc.value) == f"mount -t tmpfs -o mode=0755 tmpfs {scratch}/missing: No such file or directory (ENOENT)"
    with pytest.raises(m.MountError) as exc:
        m.umount(scratch)  # not a mount point
    assert exc.value.errno == errno.EINVAL and str(exc.value).startswith(f"umount {scratch}: Invalid argument")
