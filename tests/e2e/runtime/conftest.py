"""Fixtures for the runtime e2e tests: real containerd (as root) inside a network namespace.

The session builds the offline images (cached under /tmp; a build whose inputs
did not change is a no-op, so the cache needs no versioning here), creates a
network namespace with only loopback (so the CNI bridge, its veths and any
iptables rules live there and nothing can route off the machine), and runs one
pyk8s-managed containerd in it.  Teardown, in finally blocks and by recorded
IDs: every sandbox is stopped and removed, containerd is stopped by PID,
leftover mounts under the data dir are unmounted, the namespace is deleted
(taking the bridge and veths with it), and empty cgroup dirs containerd made
for its namespace are removed.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest

from pyk8s.kubelet.images import build
from pyk8s.kubelet.runtime.containerd import ManagedContainerd
from pyk8s.kubelet.runtime.cri.client import CRIClient

IMAGE_CACHE = pathlib.Path("/tmp/pyk8s-image-cache")
POD_CIDR = "10.244.0.0/24"


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "runtime e2e tests need root (containerd, netns, cgroups)"
    for binary in ("containerd", "ctr", "runc", "nsenter", "ip"):
        if shutil.which(binary) is None:
            return f"{binary} is not installed"
    return None


@dataclass
class Node:
    manager: ManagedContainerd
    netns_name: str
    data_dir: pathlib.Path
    images: dict[str, pathlib.Path]

    @property
    def netns(self) -> str:
        return f"/var/run/netns/{self.netns_name}"

    @property
    def endpoint(self) -> str:
        return self.manager.endpoint


@pytest.fixture(scope="session")
def built_images() -> dict[str, build.BuiltImage]:
    return build.build(IMAGE_CACHE)


@pytest.fixture(scope="session")
def image_archives(built_images: dict[str, build.BuiltImage]) -> dict[str, pathlib.Path]:
    return {name: image.archive for name, image in built_images.items()}


def _unmount_under(root: pathlib.Path) -> None:
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    for point in sorted((p for p in points if p.startswith(str(root))), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


async def _remove_all_sandboxes(endpoint: str) -> None:
    client = CRIClient(endpoint, timeout=30)
    try:
        for sandbox in await client.list_pod_sandbox():
            await client.stop_pod_sandbox(sandbox.id)
            await client.remove_pod_sandbox(sandbox.id)
    finally:
        await client.close()


def _remove_empty_cgroups(namespace_dir: str = "k8s.io") -> None:
    # Only empty dirs go: rmdir refuses a cgroup that another containerd still uses.
    for hierarchy in pathlib.Path("/sys/fs/cgroup").iterdir():
        path = hierarchy / namespace_dir
        if path.is_dir():
            try:
                path.rmdir()
            except OSError:
                pass


@pytest.fixture(scope="package")
def node(tmp_path_factory: pytest.TempPathFactory, image_archives: dict[str, pathlib.Path]) -> Iterator[Node]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    data_dir = tmp_path_factory.mktemp("ctrd")
    netns_name = f"pyk8s-rt-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", netns_name], check=True)
    manager = ManagedContainerd(data_dir, pod_cidr=POD_CIDR, netns=f"/var/run/netns/{netns_name}")
    try:
        subprocess.run(["ip", "netns", "exec", netns_name, "ip", "link", "set", "lo", "up"], check=True)
        manager.paths.auto_import_dir.mkdir(parents=True, exist_ok=True)
        for name in ("busybox", "pause"):
            shutil.copy(image_archives[name], manager.paths.auto_import_dir / f"{name}.tar")
        asyncio.run(manager.start())
        yield Node(manager, netns_name, data_dir, image_archives)
    finally:
        try:
            if manager.running_pid() is not None:
                asyncio.run(_remove_all_sandboxes(manager.endpoint))
        finally:
            asyncio.run(manager.stop())
            _unmount_under(data_dir)
            subprocess.run(["ip", "netns", "delete", netns_name], capture_output=True)
            _remove_empty_cgroups()


@pytest.fixture
async def cri(node: Node) -> AsyncIterator[CRIClient]:
    client = CRIClient(node.endpoint, timeout=30)
    try:
        yield client
    finally:
        await client.close()
