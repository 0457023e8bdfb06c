"""Root filesystems from Debian packages, without a chroot or maintainer scripts.

``Apt.resolve`` walks the Depends/Pre-Depends of the wanted packages with
``apt-cache`` (the first alternative that is a real package wins; packages in
``exclude`` are left out, with their dependencies, because they only serve
maintainer scripts we never run); ``Apt.download`` fetches the ``.deb`` files into
a cache with ``apt-get download``; ``entries`` reads each package's data tar
(``dpkg-deb --fsys-tarfile``) into layer entries, laid out merged-/usr as
Debian 12 images are (``/bin`` -> ``usr/bin`` and so on) and without docs, man
pages and locales.  Versions come from the local apt lists, so the build key of
an image is known before anything is downloaded.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import io
import json
import os
import pathlib
import posixpath
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import unquote

from pyk8s.kubelet.images import oci

# Never needed at run time in a container: tools of dpkg's maintainer scripts and init systems.
SCRIPT_ONLY = frozenset({
    "debconf", "debconf-2.0", "adduser", "passwd", "init-system-helpers", "lsb-base", "sysvinit-utils",
    "perl-base", "dpkg", "ucf", "sensible-utils", "install-info", "libpam-runtime",
})

# Paths a slim image drops (as Debian's slim images do with dpkg path-exclude).
DROPPED_PREFIXES = (
    "usr/share/doc/", "usr/share/man/", "usr/share/info/", "usr/share/locale/", "usr/share/lintian/",
    "usr/share/linda/", "usr/share/menu/", "usr/share/bug/", "usr/share/apport/", "lib/systemd/", "usr/lib/systemd/",
    "etc/init.d/", "etc/logrotate.d/", "etc/ufw/", "etc/cron.daily/",
)
MERGED_DIRS = ("bin", "sbin", "lib", "lib64")
APT_LISTS = pathlib.Path("/var/lib/apt/lists")


class AptError(RuntimeError):
    pass


@dataclass(frozen=True)
class Package:
    name: str
    filename: str  # pool file name, version included: the cache key of the .deb
    sha256: str

    @property
    def version(self) -> str:
        return unquote(self.filename.split("_")[1])

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


class Apt:
    """apt-get/apt-cache with their binary cache kept in ``cache`` (this machine's apt keeps none)."""

    def __init__(self, cache: pathlib.Path) -> None:
        self.cache = cache
        cache.mkdir(parents=True, exist_ok=True)

    def _options(self) -> list[str]:
        return [
            "-o", f"Dir::Cache::pkgcache={self.cache / 'pkgcache.bin'}",
            "-o", f"Dir::Cache::srcpkgcache={self.cache / 'srcpkgcache.bin'}",
            "-o", "APT::Sandbox::User=root",
        ]

    def run(self, tool: str, args: list[str], cwd: pathlib.Path | None = None) -> str:
        cmd = [tool, *self._options(), *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
        if proc.returncode != 0:
            raise AptError(f"{tool} {args[0]} failed: {proc.stderr.strip()[-2000:]}")
        return proc.stdout

    def update(self) -> None:
        if os.geteuid() != 0:
            raise AptError("the apt package lists are missing or stale; run `apt-get update` as root")
        self.run("apt-get", ["update", "-qq"])

    def depends(self, names: Iterable[str]) -> dict[str, list[list[str]]]:
        """name -> alternatives groups for the whole closure (one apt-cache call)."""
        flags = ["--recurse", "--no-recommends", "--no-suggests", "--no-conflicts", "--no-breaks", "--no-replaces",
                 "--no-enhances"]
        return parse_depends(self.run("apt-cache", ["depends", *flags, *sorted(names)]))

    def locate(self, names: list[str]) -> list[Package]:
        with tempfile.TemporaryDirectory() as empty:  # --print-uris leaves out files already in cwd
            out = self.run("apt-get", ["download", "--print-uris", *names], cwd=pathlib.Path(empty))
        packages = []
        for line in out.splitlines():
            _url, filename, _size, checksum = line.split()
            packages.append(Package(filename.split("_", 1)[0], filename, checksum.removeprefix("SHA256:")))
        return sorted(packages, key=lambda p: p.name)

    def download(self, packages: list[Package]) -> list[pathlib.Path]:
        """The ``.deb`` of each package, fetched into the cache unless already there."""
        with open(self.cache / ".lock", "w") as lock:  # builds into other directories share this cache
            fcntl.flock(lock, fcntl.LOCK_EX)
            return self._download(packages)

    def _download(self, packages: list[Package]) -> list[pathlib.Path]:
        missing = [p for p in packages if not (self.cache / p.filename).exists()]
        if missing:
            args = ["download", "-q", *(f"{p.name}={p.version}" for p in missing)]
            try:
                self.run("apt-get", args, cwd=self.cache)
            except AptError:
                self.update()  # stale lists name versions the mirror no longer has
                self.run("apt-get", args, cwd=self.cache)
        for package in missing:
            path = self.cache / package.filename
            if not path.exists():
                raise AptError(f"apt-get download did not fetch {package.filename}")
            if hashlib.sha256(path.read_bytes()).hexdigest() != package.sha256:
                path.unlink()
                raise AptError(f"{package.filename}: checksum mismatch")
        return [self.cache / p.filename for p in packages]

    def resolve(self, wanted: list[str], exclude: Iterable[str] = ()) -> list[Package]:
        """The packages (at their candidate versions) that ``wanted`` needs at run time.

        Remembered per apt lists state, so an unchanged build asks apt nothing.
        """
        skip = (SCRIPT_ONLY - set(wanted)) | frozenset(exclude)  # perl-base stays when perl is what is wanted
        memo = self.cache / f"resolved-{_lists_state(wanted, skip)}.json"
        if memo.exists():
            return [Package(*fields) for fields in json.loads(memo.read_text())]
        try:
            names = closure(self.depends(wanted), wanted, skip)
        except AptError:
            self.update()  # a fresh machine has no lists yet
            names = closure(self.depends(wanted), wanted, skip)
        packages = self.locate(names)
        tmp = memo.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps([[p.name, p.filename, p.sha256] for p in packages]))
        os.replace(tmp, memo)
        return packages


def _lists_state(wanted: list[str], skip: frozenset[str]) -> str:
    digest = hashlib.sha256(repr((sorted(wanted), sorted(skip))).encode())
    for path in sorted(APT_LISTS.glob("*")):
        stat = path.stat()
        digest.update(f"{path.name} {stat.st_size} {stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def parse_depends(out: str) -> dict[str, list[list[str]]]:
    """``apt-cache depends`` output -> name -> groups of alternatives (virtuals followed by their providers)."""
    result: dict[str, list[list[str]]] = {}
    groups: list[list[str]] = []
    open_group = False
    for line in out.splitlines():
        if not line.startswith(" "):
            groups = result.setdefault(line.strip(), [])
            open_group = False
            continue
        text = line.strip()
        kind, _, target = text.partition(":")
        if not line.startswith("    ") and kind.lstrip("|") in ("Depends", "PreDepends"):
            if not open_group:
                groups.append([])
            groups[-1].append(target.strip())
            open_group = text.startswith("|")
        elif groups and line.startswith("    "):
            groups[-1].append(text)  # a provider of the virtual package named just above
    return result


def _choose(group: list[str], exclude: frozenset[str], chosen: set[str]) -> str | None:
    if any(name.strip("<>") in exclude for name in group):
        return None
    real = [name.split(":", 1)[0] for name in group if not name.startswith("<")]
    # Prefer an alternative we already take (mawk for "awk" when mawk is wanted).
    return next((name for name in real if name in chosen), real[0] if real else None)


def closure(depends: dict[str, list[list[str]]], wanted: list[str], exclude: frozenset[str]) -> list[str]:
    chosen = {name for name in wanted if name not in exclude}
    missing = chosen - depends.keys()
    if missing:
        raise AptError(f"unknown packages {sorted(missing)}")
    todo = sorted(chosen)
    while todo:
        name = todo.pop()
        for group in depends.get(name, []):
            pick = _choose(group, exclude, chosen)
            if pick is not None and pick not in chosen:
                chosen.add(pick)
                todo.append(pick)
    return sorted(chosen)


def _merged(path: str) -> str:
    head, _, rest = path.partition("/")
    return f"usr/{head}/{rest}".rstrip("/") if head in MERGED_DIRS else path


def _dropped(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path.startswith(prefix) or path + "/" == prefix for prefix in prefixes)


def _link_target(old_path: str, new_path: str, target: str) -> str:
    """A relative symlink target stays right after its link moved into /usr (absolute ones resolve anyway)."""
    if target.startswith("/") or old_path == new_path:
        return target
    absolute = posixpath.normpath(posixpath.join("/", posixpath.dirname(old_path), target))
    absolute = "/" + _merged(absolute.lstrip("/"))
    return posixpath.relpath(absolute, posixpath.join("/", posixpath.dirname(new_path)))


def _members(deb: pathlib.Path) -> list[tuple[tarfile.TarInfo, bytes | None]]:
    proc = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True)
    if proc.returncode != 0:
        raise AptError(f"dpkg-deb --fsys-tarfile {deb} failed: {proc.stderr.decode(errors='replace').strip()}")
    members = []
    with tarfile.open(fileobj=io.BytesIO(proc.stdout), mode="r:") as tar:
        for member in tar:
            reader = tar.extractfile(member) if member.isfile() else None
            members.append((member, reader.read() if reader else None))
    return members


def entries(debs: list[pathlib.Path], *, drop: Iterable[str] = ()) -> dict[str, oci.LayerEntry]:
    """Path -> entry for the union of the packages' files (later packages win), merged-/usr."""
    prefixes = DROPPED_PREFIXES + tuple(drop)
    result: dict[str, oci.LayerEntry] = {}
    # dpkg-deb decompresses (xz, zstd) in its own process: run two at a time.
    with ThreadPoolExecutor(max_workers=2) as pool:
        unpacked = list(pool.map(_members, debs))
    for members in unpacked:
        contents: dict[str, bytes] = {}  # this package's regular files, dropped ones included, for hard links
        for member, data in members:
            old = member.name.removeprefix("./").rstrip("/")
            path = _merged(old)
            if member.isfile() and data is not None:
                contents[path] = data
            elif member.islnk():  # a copy: the other name may be dropped
                data = contents.get(_merged(member.linkname.removeprefix("./").rstrip("/")))
            if not path or _dropped(path, prefixes):
                continue
            owner = functools.partial(oci.LayerEntry, mode=member.mode, uid=member.uid, gid=member.gid)
            if member.isdir():
                result.setdefault(path, owner(path, kind="dir"))
            elif member.issym():
                target = _link_target(old, path, member.linkname)
                result[path] = owner(path, kind="symlink", target=target)
            elif (member.isfile() or member.islnk()) and data is not None:
                result[path] = owner(path, data=data)
    for top in MERGED_DIRS:
        result[top] = oci.LayerEntry(top, kind="symlink", target=f"usr/{top}")
        result.setdefault(f"usr/{top}", oci.LayerEntry(f"usr/{top}", kind="dir"))
    _add_parents(result)
    return result


def _add_parents(result: dict[str, oci.LayerEntry]) -> None:
    for path in list(result):
        parent = posixpath.dirname(path)
        while parent and parent not in result:
            result[parent] = oci.LayerEntry(parent, kind="dir")
            parent = posixpath.dirname(parent)
