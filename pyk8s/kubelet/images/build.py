"""Build the offline images (busybox, nginx, dnsutils, perl, myapp, pause) from Debian packages, cached.

``build(out_dir, names)`` writes, per image, an OCI layout ``<name>/`` (for
skopeo and the registry), an archive ``<name>.tar`` (for ``ctr images
import``) and ``<name>.key``: the hash of everything the image is made of (the
code here, the recipe, and the exact Debian package files by checksum).  An
image whose key is unchanged is not rebuilt, and nothing is downloaded for it;
the ``.deb`` files stay cached in ``DEB_CACHE`` (/var/cache/pyk8s/debs for
root, ``$PYK8S_DEB_CACHE`` to choose).  A lock file serialises
concurrent builds into one directory.  Without apt lists or network, images
already built are reused as they are.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import pathlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson

from pyk8s.kubelet.images import catalog, debian, oci, recipes, tools

log = logging.getLogger(__name__)

DEFAULT_OUT = pathlib.Path("/tmp/pyk8s-images")
# Shared by every output directory, so a throwaway one (a benchmark's, a test's) downloads nothing again.
DEB_CACHE = pathlib.Path(os.environ.get("PYK8S_DEB_CACHE") or (
    "/var/cache/pyk8s/debs" if os.geteuid() == 0 else pathlib.Path.home() / ".cache" / "pyk8s" / "debs"))
DEFAULT_NAMES = tuple(catalog.NAMES)
BUSYBOX = "docker.io/library/busybox"
NGINX = "docker.io/library/nginx"
PAUSE = "registry.k8s.io/pause"
PAUSE_REF = catalog.PAUSE_REF
BUSYBOX_REF = catalog.BUSYBOX_REF
NGINX_REF = catalog.NGINX_REF
_CODE = (catalog, debian, oci, recipes, tools)


@dataclass(frozen=True)
class BuiltImage:
    name: str
    layout: pathlib.Path
    archive: pathlib.Path
    refs: tuple[str, ...]
    digest: str  # manifest digest, the same for every reference
    image_id: str  # config digest: the image ID containerd reports
    source: str  # the io.pyk8s.image.source label
    rebuilt: bool


def _code_hash() -> str:
    digest = hashlib.sha256(pathlib.Path(__file__).read_bytes())
    for module in _CODE:
        digest.update(pathlib.Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()


def _key(recipe: recipes.Recipe, packages: list[debian.Package]) -> str:
    digest = hashlib.sha256(_code_hash().encode())
    digest.update(f"{recipe.name}\ngcc={tools.gcc_available()}\n".encode())
    for package in packages:
        digest.update(f"{package.filename} {package.sha256}\n".encode())
    return digest.hexdigest()


@contextmanager
def _locked(out_dir: pathlib.Path) -> Iterator[None]:
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _result(out_dir: pathlib.Path, name: str, rebuilt: bool) -> BuiltImage:
    layout = out_dir / name
    digests = oci.manifest_digests(layout)
    config_digest, config = _config(layout)
    labels = config["config"].get("Labels") or {}
    return BuiltImage(name, layout, out_dir / f"{name}.tar", tuple(digests), next(iter(digests.values())),
                      config_digest, str(labels.get(recipes.SOURCE_LABEL, "")), rebuilt)


def _config(layout: pathlib.Path) -> tuple[str, dict[str, Any]]:
    blobs = layout / "blobs" / "sha256"
    digest = next(iter(oci.manifest_digests(layout).values()))
    manifest = orjson.loads((blobs / digest.split(":", 1)[1]).read_bytes())
    config_digest = manifest["config"]["digest"]
    return config_digest, orjson.loads((blobs / config_digest.split(":", 1)[1]).read_bytes())


def source_label(layout: pathlib.Path) -> str:
    """What a built image really holds (its ``io.pyk8s.image.source`` label)."""
    return str((_config(layout)[1]["config"].get("Labels") or {}).get(recipes.SOURCE_LABEL, ""))


def _is_current(out_dir: pathlib.Path, name: str, key: str | None) -> bool:
    key_file, archive, index = out_dir / f"{name}.key", out_dir / f"{name}.tar", out_dir / name / "index.json"
    if not (key_file.exists() and archive.exists() and index.exists()):
        return False
    return key is None or key_file.read_text() == key


def _files(apt: debian.Apt, packages: list[debian.Package], drop: tuple[str, ...],
           memo: dict[tuple[object, ...], recipes.Files]) -> recipes.Files:
    """The packages' files; images made of the same packages (nginx, myapp) unpack them once per build."""
    if not packages:
        return {}
    key = (tuple(packages), drop)
    if key not in memo:
        memo[key] = debian.entries(apt.download(packages), drop=drop)
    return dict(memo[key])  # recipes add and replace entries, never change one in place


def _build_one(out_dir: pathlib.Path, recipe: recipes.Recipe, apt: debian.Apt, force: bool,
               memo: dict[tuple[object, ...], recipes.Files]) -> BuiltImage:
    try:
        packages = apt.resolve(list(recipe.packages), recipe.exclude) if recipe.packages else []
    except debian.AptError as err:
        if not force and _is_current(out_dir, recipe.name, None):
            log.warning("images: %s: cannot check the Debian packages (%s); reusing the image built before",
                        recipe.name, err)
            return _result(out_dir, recipe.name, rebuilt=False)
        raise
    key = _key(recipe, packages)
    if not force and _is_current(out_dir, recipe.name, key):
        return _result(out_dir, recipe.name, rebuilt=False)
    files = _files(apt, packages, recipe.drop, memo)
    with tempfile.TemporaryDirectory(prefix="pyk8s-build-") as tmp:
        spec = recipe.assemble(files, packages, pathlib.Path(tmp))
        staging = out_dir / f".{recipe.name}.new"
        shutil.rmtree(staging, ignore_errors=True)
        oci.write_layout(spec, staging)
    shutil.rmtree(out_dir / recipe.name, ignore_errors=True)
    staging.rename(out_dir / recipe.name)
    oci.write_archive(out_dir / recipe.name, out_dir / f"{recipe.name}.tar")
    (out_dir / f"{recipe.name}.key").write_text(key)
    return _result(out_dir, recipe.name, rebuilt=True)


def build(out_dir: pathlib.Path, names: list[str] | tuple[str, ...] | None = None, *,
          force: bool = False, deb_cache: pathlib.Path | None = None) -> dict[str, BuiltImage]:
    """Builds (or finds up to date) the named images in ``out_dir``; ``.deb`` files are kept in ``deb_cache``."""
    wanted = list(names or DEFAULT_NAMES)
    unknown = [n for n in wanted if n not in recipes.RECIPES]
    if unknown:
        raise ValueError(f"unknown image {unknown[0]!r} (known: {', '.join(recipes.RECIPES)})")
    with _locked(out_dir):
        apt = debian.Apt(deb_cache or DEB_CACHE)
        memo: dict[tuple[object, ...], recipes.Files] = {}
        return {name: _build_one(out_dir, recipes.RECIPES[name], apt, force, memo) for name in wanted}


def build_images(out_dir: pathlib.Path, names: list[str] | None = None, *, force: bool = False) -> dict[str, pathlib.Path]:
    """Name -> archive path, for ``ctr images import`` (containerd's auto-import directory)."""
    return {name: image.archive for name, image in build(out_dir, names or ["busybox", "pause"], force=force).items()}


def unpack_busybox_rootfs(dest: pathlib.Path, cache: pathlib.Path = DEFAULT_OUT) -> pathlib.Path:
    """A busybox rootfs directory for the process runtime (the host's busybox where apt cannot build one)."""
    if (dest / "bin" / "busybox").exists():
        return dest
    try:
        image = build(cache, ["busybox"])["busybox"]
    except (debian.AptError, tools.ToolchainError, OSError) as err:
        log.warning("images: cannot build busybox (%s); using the host's busybox binary", err)
        _host_busybox_rootfs(dest)
        return dest
    oci.unpack_layout(image.layout, dest)
    return dest


def _host_busybox_rootfs(dest: pathlib.Path, binary: str = "/bin/busybox") -> None:
    (dest / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy(binary, dest / "bin" / "busybox")
    out = subprocess.run([binary, "--list"], check=True, capture_output=True, text=True).stdout
    for applet in sorted(set(out.split()) - {"busybox"}):
        (dest / "bin" / applet).symlink_to("busybox")
