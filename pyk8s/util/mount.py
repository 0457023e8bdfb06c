"""mount(2) and umount2(2) called directly, instead of starting ``mount``/``umount`` processes.

The kubelet mounts a tmpfs for every secret, projected (token) and Memory
emptyDir volume of every pod and unmounts it when the pod goes: a process
start each is a few milliseconds of CPU on the pod start path, the system
call a few microseconds.  ``mount_options`` translates mount(8)-style
options (``ro``, ``nosuid``, ``bind``, ``remount``, ``size=64m`` ...) into the
flags and the data string the system call takes, the way mount(8) does for
these: the flag options become ``MS_*`` bits, the rest is passed to the
filesystem as data.  Failures raise ``MountError``, an ``OSError`` with the
errno and a message that names the operation, like mount(8)'s own.
"""

from __future__ import annotations

import ctypes
import errno as errno_mod
import os
from collections.abc import Iterable

# <sys/mount.h>
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_SYNCHRONOUS = 0x10
MS_REMOUNT = 0x20
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_RELATIME = 1 << 21
MNT_FORCE = 0x1
MNT_DETACH = 0x2

# mount(8) option -> (flags it sets, flags it clears)
_FLAG_OPTIONS: dict[str, tuple[int, int]] = {
    "ro": (MS_RDONLY, 0), "rw": (0, MS_RDONLY),
    "nosuid": (MS_NOSUID, 0), "suid": (0, MS_NOSUID),
    "nodev": (MS_NODEV, 0), "dev": (0, MS_NODEV),
    "noexec": (MS_NOEXEC, 0), "exec": (0, MS_NOEXEC),
    "sync": (MS_SYNCHRONOUS, 0), "async": (0, MS_SYNCHRONOUS),
    "noatime": (MS_NOATIME, 0), "atime": (0, MS_NOATIME),
    "nodiratime": (MS_NODIRATIME, 0), "diratime": (0, MS_NODIRATIME),
    "relatime": (MS_RELATIME, 0), "norelatime": (0, MS_RELATIME),
    "remount": (MS_REMOUNT, 0),
    "bind": (MS_BIND, 0), "rbind": (MS_BIND | MS_REC, 0),
    "private": (MS_PRIVATE, 0), "rprivate": (MS_PRIVATE | MS_REC, 0),
    "slave": (MS_SLAVE, 0), "rslave": (MS_SLAVE | MS_REC, 0),
    "shared": (MS_SHARED, 0), "rshared": (MS_SHARED | MS_REC, 0),
    "defaults": (0, 0),
}
# Options mount(8) handles itself (a loop device, fstab/utab bookkeeping): no system call equivalent here.
_UNSUPPORTED = frozenset({"loop", "user", "users", "nouser", "owner", "group", "auto", "noauto", "_netdev", "nofail"})

_libc: ctypes.CDLL | None = None


class MountError(OSError):
    """A failed mount(2)/umount2(2): ``errno`` is the system's, ``str()`` names the operation and the cause."""

    def __init__(self, err: int, operation: str) -> None:
        super().__init__(err, os.strerror(err))
        self.operation = operation

    def __str__(self) -> str:
        name = errno_mod.errorcode.get(self.errno or 0, str(self.errno))
        return f"{self.operation}: {self.strerror} ({name})"


def mount_options(options: Iterable[str]) -> tuple[int, str]:
    """``(flags, data)`` for mount(8)-style ``options``, in order (a later ``rw`` undoes an earlier ``ro``)."""
    flags = 0
    data: list[str] = []
    for option in options:
        option = option.strip()
        if not option:
            continue
        if option in _UNSUPPORTED:
            raise ValueError(f"mount option {option!r} needs mount(8); it has no mount(2) equivalent")
        if option in _FLAG_OPTIONS:
            set_bits, clear_bits = _FLAG_OPTIONS[option]
            flags = (flags | set_bits) & ~clear_bits
        else:
            data.append(option)
    return flags, ",".join(data)


def mount(source: str, target: str | os.PathLike[str], fstype: str = "", options: Iterable[str] = ()) -> None:
    """mount(2) ``source`` on ``target``: what ``mount -t fstype -o options source target`` does."""
    flags, data = mount_options(options)
    mount_raw(source, target, fstype, flags, data)


def mount_raw(source: str, target: str | os.PathLike[str], fstype: str, flags: int, data: str = "") -> None:
    target = os.fspath(target)
    rc = _lib().mount(os.fsencode(source), os.fsencode(target), fstype.encode() if fstype else None,
                      ctypes.c_ulong(flags), data.encode() if data else None)
    if rc != 0:
        raise MountError(ctypes.get_errno(), _describe(source, target, fstype, flags, data))


def bind(source: str | os.PathLike[str], target: str | os.PathLike[str], *, recursive: bool = False,
         read_only: bool = False) -> None:
    """``mount --bind`` (``--rbind``); read-only takes a second, remounting call, as mount(8) does."""
    flags = MS_BIND | (MS_REC if recursive else 0)
    mount_raw(os.fspath(source), target, "", flags)
    if read_only:
        mount_raw("", target, "", MS_BIND | MS_REMOUNT | MS_RDONLY)


def mount_tmpfs(target: str | os.PathLike[str], *, size: int | None = None, mode: int | None = None,
                options: Iterable[str] = ()) -> None:
    """``mount -t tmpfs -o [size=N,][mode=M,]options tmpfs target``."""
    opts = [*([f"size={size}"] if size else []), *([f"mode={mode:04o}"] if mode is not None else []), *options]
    mount("tmpfs", target, "tmpfs", opts)


def umount(target: str | os.PathLike[str], *, detach: bool = False, force: bool = False) -> None:
    """umount2(2): ``umount target``; ``detach`` is ``umount -l``, ``force`` is ``umount -f``."""
    target = os.fspath(target)
    flags = (MNT_DETACH if detach else 0) | (MNT_FORCE if force else 0)
    if _lib().umount2(os.fsencode(target), ctypes.c_int(flags)) != 0:
        raise MountError(ctypes.get_errno(), f"umount{' -l' if detach else ''}{' -f' if force else ''} {target}")


def _describe(source: str, target: str, fstype: str, flags: int, data: str) -> str:
    """The operation as the mount(8) command line it replaces, for error messages."""
    names = [n for n, (bits, _) in _FLAG_OPTIONS.items() if bits and flags & bits == bits]
    # "rbind" covers "bind", "rprivate" covers "private"...: keep the widest names only.
    names = [n for n in names if not any(o != n and o.endswith(n) and o in names for o in names)]
    opts = ",".join([*names, *([data] if data else [])])
    parts = ["mount", *(["-t", fstype] if fstype else []), *(["-o", opts] if opts else []), source, target]
    return " ".join(p for p in parts if p)


def _lib() -> ctypes.CDLL:
    global _libc
    if _libc is None:
        lib = ctypes.CDLL(None, use_errno=True)  # the process's own symbols, libc's among them
        lib.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
        lib.mount.restype = ctypes.c_int
        lib.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
        lib.umount2.restype = ctypes.c_int
        _libc = lib
    return _libc
