"""Writes a set of files into a volume directory atomically (upstream ``AtomicWriter``).

Layout inside the target directory::

    ..2026_01_02_15_04_05.123456789/   the current payload (a timestamped dir)
    ..data -> ..2026_01_02_15_04_05.123456789
    key -> ..data/key                  one user-visible symlink per top-level name

An update writes the new payload into a fresh timestamped directory, points a
``..data_tmp`` symlink at it and renames that over ``..data`` (rename(2) is
atomic), so a reader following ``key`` sees the old set or the new set, never
a mix.  Then it adds the missing user-visible links, removes links whose
names left the payload, and deletes the old directory.  An unchanged payload
writes nothing.
"""

from __future__ import annotations

import datetime
import os
import pathlib
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass

DATA_DIR = "..data"
DATA_TMP = "..data_tmp"


class PayloadError(ValueError):
    pass


@dataclass(frozen=True)
class FileProjection:
    data: bytes
    mode: int = 0o644
    gid: int | None = None  # fsGroup: the file's group


def validate_path(path: str) -> None:
    if not path:
        raise PayloadError("invalid path: must not be empty")
    if len(path) > 4096:
        raise PayloadError(f"invalid path: must be less than or equal to 4096 characters: {path}")
    if os.path.isabs(path):
        raise PayloadError(f"invalid path: must be relative path: {path}")
    parts = path.split("/")
    if ".." in parts:
        raise PayloadError(f"invalid path: must not contain '..': {path}")
    if path.startswith(".."):
        raise PayloadError(f"invalid path: must not start with '..': {path}")


class AtomicWriter:
    def __init__(self, target: pathlib.Path) -> None:
        self.target = target

    def _current(self) -> pathlib.Path | None:
        link = self.target / DATA_DIR
        if not link.is_symlink():
            return None
        return self.target / os.readlink(link)

    def _unchanged(self, current: pathlib.Path | None, payload: Mapping[str, FileProjection]) -> bool:
        if current is None:
            return False
        existing = {str(p.relative_to(current)) for p in current.rglob("*") if p.is_file()}
        if existing != set(payload):
            return False
        for path, proj in payload.items():
            f = current / path
            if f.read_bytes() != proj.data or (f.stat().st_mode & 0o7777) != proj.mode:
                return False
        return True

    def write(self, payload: Mapping[str, FileProjection]) -> bool:
        """Makes the directory hold exactly ``payload``; returns whether anything changed."""
        for path in payload:
            validate_path(path)
        self.target.mkdir(parents=True, exist_ok=True)
        current = self._current()
        if self._unchanged(current, payload):
            return False
        stamp = datetime.datetime.now(datetime.UTC).strftime("..%Y_%m_%d_%H_%M_%S.")
        new_dir = pathlib.Path(tempfile.mkdtemp(prefix=stamp, dir=self.target))
        new_dir.chmod(0o755)
        self._write_payload(new_dir, payload)
        tmp_link = self.target / DATA_TMP
        if tmp_link.is_symlink() or tmp_link.exists():
            tmp_link.unlink()
        os.symlink(new_dir.name, tmp_link)
        os.rename(tmp_link, self.target / DATA_DIR)
        self._update_user_links(payload)
        if current is not None and current.exists():
            shutil.rmtree(current, ignore_errors=True)
        return True

    @staticmethod
    def _write_payload(root: pathlib.Path, payload: Mapping[str, FileProjection]) -> None:
        for path, proj in payload.items():
            dest = root / path
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(proj.data)
            if proj.gid is not None:
                os.chown(dest, -1, proj.gid)
            dest.chmod(proj.mode)

    def _update_user_links(self, payload: Mapping[str, FileProjection]) -> None:
        wanted = {path.split("/", 1)[0] for path in payload}
        for name in wanted:
            link = self.target / name
            if not link.is_symlink():
                os.symlink(f"{DATA_DIR}/{name}", link)
        for entry in self.target.iterdir():
            if entry.name.startswith("..") or entry.name in wanted:
                continue
            if entry.is_symlink():
                entry.unlink()
