"""The node's local registry: Debian's docker-registry on loopback, serving the offline images.

containerd uses it as the mirror of every registry host the offline images
name (docker.io, registry.k8s.io, ...; see ``catalog``), so a pull by name,
``imagePullPolicy: Always`` included, succeeds with no network.  Registries a
user configured come first in each host's mirror list, so real images are
pulled when they can be; the upstream host itself is contacted only when
``allow_upstream`` says so (never by default, never in tests).

``ImageRegistry(data_dir).run()`` builds the images (cached), starts the
registry with its data under ``data_dir/registry`` (adopting one a previous run
left behind), pushes every reference whose digest the registry does not have
yet with ``skopeo copy``, writes the hosts.toml files, sets ``ready`` and
serves until cancelled, then stops the registry by PID.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import pathlib
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from typing import Any

from pyk8s.kubelet.images import build, catalog, mirrors

log = logging.getLogger(__name__)

REGISTRY_BIN = "docker-registry"
DEFAULT_PORT = 5000
_ACCEPT = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"

# Run by ``python -c`` (inside the registry's network namespace when it has one): ref paths in, digests out.
_DIGESTS = """
import json, sys, urllib.request, urllib.error
address, accept, paths = json.load(sys.stdin)
out = {}
for path in paths:
    name, _, tag = path.rpartition(":")
    req = urllib.request.Request(f"http://{address}/v2/{name}/manifests/{tag}", method="HEAD",
                                 headers={"Accept": accept})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            out[path] = resp.headers.get("Docker-Content-Digest", "")
    except urllib.error.HTTPError as err:
        out[path] = "" if err.code == 404 else f"error {err.code}"
    except OSError as err:
        out[path] = f"error {err}"
print(json.dumps(out))
"""


def registry_config(root: pathlib.Path, address: str, auth: str = "") -> str:
    """docker-registry's config.yml: filesystem storage under ``root/storage``, plain HTTP on ``address``."""
    return (
        "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {root / 'storage'}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: {address}\n" + auth
    )


def mirror_config(address: str, user: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """registries.yaml shape: every offline host mirrored to ``address``, after the user's own mirrors."""
    registries: dict[str, Any] = {"mirrors": {}, "configs": dict((user or {}).get("configs") or {})}
    user_mirrors = (user or {}).get("mirrors") or {}
    for host in sorted(set(catalog.mirrored_hosts()) | set(user_mirrors)):
        endpoints = list((user_mirrors.get(host) or {}).get("endpoint") or [])
        if host in catalog.mirrored_hosts():
            endpoints.append(f"http://{address}")
        registries["mirrors"][host] = {"endpoint": endpoints}
    return registries


class RegistryError(RuntimeError):
    pass


class ImageRegistry:
    """The registry as a node component: ``run()`` until cancelled; ``ready`` is set once it serves every image."""

    def __init__(
        self, data_dir: pathlib.Path, *, port: int = DEFAULT_PORT, netns: str | None = None,
        images_dir: pathlib.Path | None = None, hosts_dir: pathlib.Path | None = None,
        names: tuple[str, ...] = build.DEFAULT_NAMES, user_mirrors: Mapping[str, Any] | None = None,
        allow_upstream: bool = False,
    ) -> None:
        """``hosts_dir`` is containerd's registry config_path; ``netns`` a path such as /var/run/netns/N.

        ``allow_upstream`` lets containerd go on to the real registry for what no mirror holds.
        """
        self.root = pathlib.Path(data_dir) / "registry"
        self.images_dir = images_dir or pathlib.Path(data_dir) / "images"
        self.port = port
        self.netns = netns
        self.hosts_dir = hosts_dir
        self.names = names
        self.user_mirrors = user_mirrors
        self.allow_upstream = allow_upstream
        self.pid: int | None = None
        self.ready = asyncio.Event()
        self._child: subprocess.Popen[bytes] | None = None  # the registry when this run started it

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def config_path(self) -> pathlib.Path:
        return self.root / "config.yml"

    @property
    def pidfile(self) -> pathlib.Path:
        return self.root / "registry.pid"

    # -- process ------------------------------------------------------------------------------------------

    def running_pid(self) -> int | None:
        """The PID of a registry serving our config (one a previous run left behind counts)."""
        try:
            pid = int(self.pidfile.read_text())
            cmdline = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return None
        return pid if str(self.config_path).encode() in cmdline else None

    async def start(self, wait_s: float = 15.0) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        config = registry_config(self.root, self.address)
        pid = self.running_pid()
        if pid is not None and self.config_path.read_text() != config:
            await self._kill(pid)  # an earlier run on another port
            pid = None
        if pid is None:
            if await self._answers():
                raise RegistryError(f"{self.address} is already served by another process")
            self.config_path.write_text(config)
            pid = self._spawn()
        self.pid = pid
        await self._wait_ready(wait_s)

    def _spawn(self) -> int:
        with open(self.root / "registry.log", "ab") as logfile:
            proc = subprocess.Popen(
                _wrap([REGISTRY_BIN, "serve", str(self.config_path)], self.netns), stdout=logfile, stderr=logfile,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        self.pidfile.write_text(str(proc.pid))
        self._child = proc
        return proc.pid

    async def _answers(self) -> bool:
        digests = await self.remote_digests(["pyk8s/ready-probe:none"])
        return not digests["pyk8s/ready-probe:none"].startswith("error")

    async def _wait_ready(self, wait_s: float) -> None:
        deadline = time.monotonic() + wait_s
        while True:
            if await self._answers():
                return
            if self.running_pid() is None:
                raise RegistryError(f"docker-registry exited; see {self.root / 'registry.log'}")
            if time.monotonic() > deadline:
                await self.stop()
                raise RegistryError(f"docker-registry did not answer on {self.address}")
            await asyncio.sleep(0.05)

    async def _kill(self, pid: int, grace_s: float = 5.0) -> None:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace_s
        while _alive(pid):
            if self._child is not None and self._child.pid == pid:
                self._child.poll()  # reaps it
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        pid = self.running_pid()
        if pid is not None:
            await self._kill(pid)
        if self._child is not None:
            self._child.wait()
            self._child = None
        self.pidfile.unlink(missing_ok=True)
        self.pid = None
        self.ready.clear()

    # -- content ------------------------------------------------------------------------------------------

    async def remote_digests(self, paths: list[str]) -> dict[str, str]:
        return await remote_digests(self.address, paths, self.netns)

    async def push(self, images: Mapping[str, build.BuiltImage]) -> list[str]:
        return await push(self.address, images, self.netns)

    def write_mirrors(self) -> list[pathlib.Path]:
        if self.hosts_dir is None:
            return []
        config = mirror_config(self.address, self.user_mirrors)
        return mirrors.write_hosts_dir(self.hosts_dir, config, upstream=self.allow_upstream)

    async def publish(self, force_build: bool = False) -> list[str]:
        """Builds what changed, pushes what the registry lacks, points containerd at it."""
        images = await asyncio.to_thread(build.build, self.images_dir, self.names, force=force_build)
        copied = await self.push(images)
        self.write_mirrors()
        return copied

    async def run(self) -> None:
        try:
            await self.start()
            copied = await self.publish()
            log.info("registry %s serves the offline images (%d references pushed)", self.address, len(copied))
            self.ready.set()
            await asyncio.Event().wait()
        finally:
            await asyncio.shield(self.stop())


def _wrap(cmd: list[str], netns: str | None) -> list[str]:
    return ["nsenter", f"--net={netns}", "--", *cmd] if netns else cmd


async def _exec(cmd: list[str], stdin: bytes | None = None) -> tuple[int, bytes, bytes]:
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate(stdin)
    return proc.returncode or 0, out, err


async def remote_digests(address: str, paths: list[str], netns: str | None = None) -> dict[str, str]:
    """``path:tag`` -> the manifest digest the registry holds ("" if none, "error ..." if unreachable)."""
    code, out, err = await _exec(_wrap([sys.executable, "-c", _DIGESTS], netns), json.dumps([address, _ACCEPT, paths]).encode())
    if code != 0:
        raise RegistryError(f"registry digest check failed: {err.decode(errors='replace').strip()}")
    return dict(json.loads(out))


async def push(address: str, images: Mapping[str, build.BuiltImage], netns: str | None = None) -> list[str]:
    """Copies every reference the registry lacks (or holds at another digest); returns those copied."""
    wanted = {catalog.registry_path(ref): (image, ref) for image in images.values() for ref in image.refs}
    held = await remote_digests(address, sorted(wanted), netns)
    unreachable = [v for v in held.values() if v.startswith("error")]
    if unreachable:
        raise RegistryError(f"registry {address}: {unreachable[0]}")
    todo = [(path, image, ref) for path, (image, ref) in sorted(wanted.items()) if held.get(path) != image.digest]
    # One reference per image first, alone: it uploads the blobs; the others then find them in place,
    # so they go a few at a time.
    first = {image.name: (path, image, ref) for path, image, ref in reversed(todo)}
    for item in first.values():
        await _copy(address, *item, netns)
    gate = asyncio.Semaphore(4)

    async def copy(item: tuple[str, build.BuiltImage, str]) -> None:
        async with gate:
            await _copy(address, *item, netns)

    await asyncio.gather(*(copy(item) for item in todo if item not in first.values()))
    return [ref for _, _, ref in todo]


COPY_ATTEMPTS = 3


async def _copy(address: str, path: str, image: build.BuiltImage, ref: str, netns: str | None) -> None:
    cmd = ["skopeo", "copy", "--quiet", "--dest-tls-verify=false", f"oci:{image.layout}:{ref}",
           f"docker://{address}/{path}"]
    for attempt in range(1, COPY_ATTEMPTS + 1):
        code, _, err = await _exec(_wrap(cmd, netns))
        if code == 0:
            return
        # docker-registry 2.8 can refuse a manifest whose blobs a concurrent upload of the same layers is
        # still committing ("blob unknown to registry"); the same copy a moment later goes through.
        if attempt < COPY_ATTEMPTS:
            log.info("skopeo copy %s failed (attempt %d); retrying", ref, attempt)
            await asyncio.sleep(0.5 * attempt)
    raise RegistryError(f"skopeo copy {ref} failed: {err.decode(errors='replace').strip()}")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
