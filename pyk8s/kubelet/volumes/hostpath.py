"""hostPath volumes: the ``type`` checks (and creations) upstream's hostPath plugin makes.

``""`` checks nothing; ``DirectoryOrCreate`` makes the directory (0755) and
``FileOrCreate`` an empty file (0644; its parent must exist) when nothing is
there; ``Directory``, ``File``, ``Socket``, ``CharDevice`` and
``BlockDevice`` require that kind of file.  Failures read
``hostPath type check failed: <path> is not a directory`` (and so on).
"""

from __future__ import annotations

import os
import pathlib
import stat

_KINDS = {
    "Directory": (stat.S_ISDIR, "a directory"),
    "File": (stat.S_ISREG, "a file"),
    "Socket": (stat.S_ISSOCK, "a socket file"),
    "CharDevice": (stat.S_ISCHR, "a character device"),
    "BlockDevice": (stat.S_ISBLK, "a block device"),
}


class HostPathError(Exception):
    pass


def _check(path: pathlib.Path, kind: str) -> None:
    test, what = _KINDS[kind]
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = 0
    if not mode or not test(mode):
        raise HostPathError(f"hostPath type check failed: {path} is not {what}")


def check_type(path_text: str, kind: str | None) -> pathlib.Path:
    path = pathlib.Path(path_text)
    if not kind:
        return path
    if kind == "DirectoryOrCreate":
        if not path.exists():
            path.mkdir(mode=0o755, parents=True)
        _check(path, "Directory")
    elif kind == "FileOrCreate":
        if not path.exists():
            try:
                fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o644)
            except OSError as exc:
                raise HostPathError(f"hostPath type check failed: {path} is not a file: {exc.strerror}") from None
            os.close(fd)
        _check(path, "File")
    elif kind in _KINDS:
        _check(path, kind)
    else:
        raise HostPathError(f"hostPath type check failed: unsupported type {kind}")
    return path
