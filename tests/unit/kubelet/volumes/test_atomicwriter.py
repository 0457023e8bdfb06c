"""The atomic writer keeps readers on a consistent set of files across updates."""

from __future__ import annotations

import os
import pathlib

import pytest

from pyk8s.kubelet.volumes.atomicwriter import DATA_DIR, AtomicWriter, FileProjection, PayloadError


def _read(target: pathlib.Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in target.iterdir() if not p.name.startswith("..")}


def test_write_update_and_remove(tmp_path: pathlib.Path) -> None:
    writer = AtomicWriter(tmp_path / "vol")
    assert writer.write({"a": FileProjection(b"1"), "dir/b": FileProjection(b"2", mode=0o600)})
    target = tmp_path / "vol"
    first = os.readlink(target / DATA_DIR)
    assert first.startswith("..") and (target / "a").is_symlink() and os.readlink(target / "a") == "..data/a"
    assert (target / "dir" / "b").read_text() == "2" and ((target / "dir" / "b").stat().st_mode & 0o777) == 0o600
    assert not writer.write({"a": FileProjection(b"1"), "dir/b": FileProjection(b"2", mode=0o600)})
    assert os.readlink(target / DATA_DIR) == first

    assert writer.write({"a": FileProjection(b"changed"), "c": FileProjection(b"3")})
    second = os.readlink(target / DATA_DIR)
    assert second != first and not (target / first).exists()
    assert _read(target) == {"a": "changed", "c": "3"}
    assert not (target / "dir").exists() and not (target / "..data_tmp").exists()


@pytest.mark.parametrize("path", ["/abs", "../up", "a/../../b", "..hidden", ""])
def test_rejects_bad_paths(tmp_path: pathlib.Path, path: str) -> None:
    with pytest.raises(PayloadError):
        AtomicWriter(tmp_path).write({path: FileProjection(b"x")})
