"""A kubelet with its container runtime: what ``pyk8s kubelet`` and ``pyk8s server`` run.

``node_runtime(root_dir)`` picks the runtime as the node should have it:

* root and the ``containerd`` binary: pyk8s's managed containerd
  (``<root>/containerd``), reached over the real CRI gRPC API; pause and
  busybox imported at start, and a local registry on 127.0.0.1
  (``<root>/registry``) serving every offline image as containerd's mirror
  for docker.io and registry.k8s.io, so pulls by name work with no network;
  the node's pod CIDR becomes its CNI config;
* otherwise the process runtime, which runs containers as plain host
  processes and isolates nothing — the kubelet says so at start and as a
  Warning event on its Node.

Containers outlive the kubelet: stopping it leaves containerd and every pod
running, and the next start re-attaches to both.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pathlib
import shutil
import subprocess
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pyk8s.client.rest import Client
from pyk8s.kubelet.images import build
from pyk8s.kubelet.images import registry as registry_mod
from pyk8s.kubelet.images.registry import ImageRegistry, RegistryError
from pyk8s.kubelet.kubelet import Kubelet, KubeletConfig
from pyk8s.kubelet.network import cni
from pyk8s.kubelet.network.routes import RouteSync, RouteTable
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.kubelet.runtime.containerd import ManagedContainerd
from pyk8s.kubelet.runtime.cri.client import CRIClient
from pyk8s.kubelet.runtime.process import ProcessRuntime
from pyk8s.networkpolicy import nftables
from pyk8s.networkpolicy.agent import NetworkPolicyAgent
from pyk8s.util import mount as mountutil

log = logging.getLogger(__name__)
IMPORTED = ("pause", "busybox")
DEFAULT_REGISTRY_PORT = registry_mod.DEFAULT_PORT
CGROUP_ROOT = "kubepods"  # the QoS tree's root, as KubeletConfig.cgroup_root names it


@dataclass
class NodeRuntime:
    runtime: ri.RuntimeService
    images: ri.ImageService
    version: str  # containerd://1.6.20
    isolated: bool
    on_pod_cidr: Callable[[str], Awaitable[None]] | None
    registry: ImageRegistry | None = None  # the local mirror of docker.io & co. serving the offline images


class NodeDaemon:
    """The kubelet and the node services it relies on (the local image registry), run together."""

    def __init__(self, kubelet: Kubelet, registry: ImageRegistry | None,
                 agents: list[RouteSync | NetworkPolicyAgent] | None = None) -> None:
        self.kubelet, self.registry = kubelet, registry
        self.agents = agents or []  # the node's network agents: host-gw pod routes, NetworkPolicy

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            if self.registry is not None:
                tg.create_task(self._registry(self.registry))
            tg.create_task(self.kubelet.run())
            for agent in self.agents:
                tg.create_task(agent.run())

    async def _registry(self, registry: ImageRegistry) -> None:
        try:
            await registry.run()
        except (RegistryError, OSError) as exc:
            # Pods still run from the imported images; only pulls of the offline images by name fail.
            log.error("local image registry on %s not started: %s", registry.address, exc)


def containerd_usable() -> bool:
    return os.geteuid() == 0 and shutil.which("containerd") is not None and shutil.which("runc") is not None


async def node_runtime(root_dir: pathlib.Path, *, pod_cidr: str = "", force_process: bool = False,
                       registry_port: int = DEFAULT_REGISTRY_PORT) -> NodeRuntime:
    if force_process or not containerd_usable():
        return await _process_runtime(root_dir)
    managed = ManagedContainerd(root_dir / "containerd", pod_cidr=pod_cidr or None)
    offline_images(managed.paths.auto_import_dir)
    registry = ImageRegistry(root_dir, port=registry_port, images_dir=build.DEFAULT_OUT,
                             hosts_dir=managed.paths.certs_dir)
    await managed.start()
    client = CRIClient(managed.endpoint)
    version = await client.version()

    async def write_cni(cidr: str) -> None:
        if pod_cidr:
            return  # --pod-cidr wins over what node IPAM assigns, as upstream's flag does
        cni.write_cni_config(managed.paths.cni_conf_dir, cidr, ipam_dir=str(managed.paths.cni_ipam_dir))
        log.info("pod CIDR %s written as the CNI config", cidr)

    return NodeRuntime(client, client, f"{version.runtime_name}://{version.runtime_version}", True, write_cni,
                       registry)


def offline_images(import_dir: pathlib.Path) -> None:
    """Build (or find cached in ``build.DEFAULT_OUT``) the offline images; copy the ones every node needs at once
    (the sandbox's pause, and busybox) for containerd to import.  The others are pulled from the local registry."""
    import_dir.mkdir(parents=True, exist_ok=True)
    for name, image in build.build(build.DEFAULT_OUT, IMPORTED).items():
        target = import_dir / f"{name}.tar"
        target.unlink(missing_ok=True)
        shutil.copyfile(image.archive, target)


async def _process_runtime(root_dir: pathlib.Path) -> NodeRuntime:
    data_dir = root_dir / "process"
    runtime = ProcessRuntime(data_dir)
    rootfs = build.unpack_busybox_rootfs(data_dir / "rootfs" / "busybox")
    repo = build.BUSYBOX_REF.rsplit(":", 1)[0]
    for ref in (build.BUSYBOX_REF, f"{repo}:latest"):
        runtime.add_image(ref, rootfs)
    version = await runtime.version()
    return NodeRuntime(runtime, runtime, f"{version.runtime_name}://{version.runtime_version}", False, None)


async def build_node(client: Client, config: KubeletConfig, *, pod_cidr: str = "", force_process: bool = False,
                     registry_port: int = DEFAULT_REGISTRY_PORT, network_agents: bool = True) -> NodeDaemon:
    node = await node_runtime(config.root_dir, pod_cidr=pod_cidr, force_process=force_process,
                              registry_port=registry_port)
    config.isolated = node.isolated
    kubelet = Kubelet(client, node.runtime, node.images, config, runtime_version=node.version,
                      on_pod_cidr=node.on_pod_cidr)
    # Pods on a CNI network (containerd) get routes to other nodes' pods and their NetworkPolicies enforced.
    agents: list[RouteSync | NetworkPolicyAgent] = []
    if network_agents and node.isolated:
        agents = [RouteSync(client, config.node_name), NetworkPolicyAgent(client, config.node_name)]
    return NodeDaemon(kubelet, node.registry, agents)


async def reset_node(root_dir: pathlib.Path) -> list[str]:
    """Remove everything a kubelet started under ``root_dir``: pods, containerd, mounts, the CNI bridge.

    What ``pyk8s kubelet --reset`` does (``kubeadm reset`` for the node): every sandbox is stopped and
    removed through CRI (CNI DEL releases the pod IPs), containerd is ended by its PID, mounts under the
    root dir are unmounted and the CNI bridge of this network namespace is deleted.  Returns what it did.
    """
    done: list[str] = []
    managed = ManagedContainerd(root_dir / "containerd")
    if managed.running_pid() is not None:
        client = CRIClient(managed.endpoint, timeout=30)
        try:
            for sandbox in await client.list_pod_sandbox():
                await client.stop_pod_sandbox(sandbox.id)
                await client.remove_pod_sandbox(sandbox.id)
                done.append(f"removed pod sandbox {sandbox.metadata.namespace}/{sandbox.metadata.name}")
        finally:
            await client.close()
        await managed.stop()
        done.append("stopped containerd")
    return done + await asyncio.to_thread(_host_cleanup, root_dir)


def _host_cleanup(root_dir: pathlib.Path) -> list[str]:
    done = [f"unmounted {p}" for p in unmount_under(root_dir)]
    if pathlib.Path(f"/sys/class/net/{cni.DEFAULT_BRIDGE}").exists():
        subprocess.run(["ip", "link", "delete", cni.DEFAULT_BRIDGE], capture_output=True, check=False)
        done.append(f"deleted bridge {cni.DEFAULT_BRIDGE}")
    if shutil.which("nft") and subprocess.run(["nft", "list", "table", nftables.FAMILY, nftables.TABLE],
                                              capture_output=True, check=False).returncode == 0:
        subprocess.run(["nft", "-f", "-"], input=nftables.delete_script().encode(), capture_output=True, check=False)
        done.append(f"deleted nftables table {nftables.FAMILY} {nftables.TABLE}")
    done += [f"pod route {change}" for change in RouteTable().sync({})]
    removed = remove_empty_cgroups(CGROUP_ROOT)
    if removed:
        done.append(f"removed {removed} empty cgroups under /{CGROUP_ROOT}")
    return done


def remove_empty_cgroups(parent: str) -> int:
    """rmdir the empty cgroup dirs below ``parent`` in every hierarchy, deepest first (busy ones stay)."""
    removed = 0
    for hierarchy in pathlib.Path("/sys/fs/cgroup").iterdir():
        top = hierarchy / parent
        if not top.is_dir():
            continue
        dirs = sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True)
        for path in [*dirs, top]:
            try:
                path.rmdir()
                removed += 1
            except OSError:
                pass
    return removed


def unmount_under(root: pathlib.Path) -> list[str]:
    """Lazily unmount every mount point below ``root``, deepest first."""
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    inside = sorted((p for p in points if p.startswith(str(root.resolve()) + "/")), key=len, reverse=True)
    for point in inside:
        try:
            mountutil.umount(point, detach=True)
        except OSError:
            pass  # already gone
    return inside
