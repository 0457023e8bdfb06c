"""Pulls through a registry mirror (docker.io -> a local docker-registry), and the pull failure modes."""

from __future__ import annotations

import shutil

import pytest

from pyk8s.kubelet.images import mirrors
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.kubelet.runtime.cri.client import CRIClient
from pyk8s.testing.registry import LocalRegistry

from .conftest import IMAGE_CACHE, Node

pytestmark = pytest.mark.containerd


async def test_pull_via_mirror_and_failure_modes(cri: CRIClient, node: Node, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for tool in ("docker-registry", "skopeo"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    registry = LocalRegistry(tmp_path / "registry", netns=node.netns)
    certs = node.manager.paths.certs_dir
    try:
        registry.start()
        registry.push_layout(IMAGE_CACHE / "busybox", "docker.io/library/busybox:1.36", "library/mirrored:1.0")
        mirrors.write_hosts_dir(certs, {"mirrors": {"docker.io": {"endpoint": [f"http://{registry.address}"]}}})

        ref = await cri.pull_image("docker.io/library/mirrored:1.0")
        assert ref.startswith("sha256:")
        image = await cri.image_status("docker.io/library/mirrored:1.0")
        assert image is not None and image.id == ref

        with pytest.raises(ri.ImageNotFoundError):
            await cri.pull_image("docker.io/library/does-not-exist:1.0")
        registry.stop()
        with pytest.raises(ri.RegistryUnavailableError):
            await cri.pull_image("docker.io/library/mirrored:2.0")
    finally:
        registry.stop()
        shutil.rmtree(certs, ignore_errors=True)
        certs.mkdir(exist_ok=True)
        try:
            await cri.remove_image("docker.io/library/mirrored:1.0")
        except ri.RuntimeServiceError:
            pass


async def test_registry_auth(cri: CRIClient, node: Node, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for tool in ("docker-registry", "skopeo"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    registry = LocalRegistry(tmp_path / "registry", netns=node.netns, credentials=("puller", "s3cret"))
    certs = node.manager.paths.certs_dir
    try:
        registry.start()
        registry.push_layout(IMAGE_CACHE / "busybox", "docker.io/library/busybox:1.36", "library/private:1.0")
        mirrors.write_hosts_dir(certs, {"mirrors": {"docker.io": {"endpoint": [f"http://{registry.address}"]}}})
        with pytest.raises(ri.RegistryAuthError):
            await cri.pull_image("docker.io/library/private:1.0")
        with pytest.raises(ri.RegistryAuthError):
            await cri.pull_image("docker.io/library/private:1.0", ri.AuthConfig(username="puller", password="wrong"))
        ref = await cri.pull_image("docker.io/library/private:1.0", ri.AuthConfig(username="puller", password="s3cret"))
        assert (await cri.image_status("docker.io/library/private:1.0")).id == ref  # type: ignore[union-attr]
    finally:
        registry.stop()
        shutil.rmtree(certs, ignore_errors=True)
        certs.mkdir(exist_ok=True)
        try:
            await cri.remove_image("docker.io/library/private:1.0")
        except ri.RuntimeServiceError:
            pass
