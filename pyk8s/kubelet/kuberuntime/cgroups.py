"""The pod's own cgroup (the part of upstream's pod container manager we need): made with its limits before
the sandbox starts, removed once its containers are gone.

``<root>[/burstable|/besteffort]/pod<uid>`` is the sandbox's cgroup parent;
the runtime puts each container's cgroup below it.  ``ensure_pod_cgroup``
creates it (and its QoS tier) and writes the pod-wide limits
(``resources.pod_cgroup_config``): on cgroup v1 ``cpu.shares``,
``cpu.cfs_period_us`` / ``cpu.cfs_quota_us`` and ``memory.limit_in_bytes`` in
the cpu and memory hierarchies; on v2 ``cpu.weight``, ``cpu.max`` and
``memory.max``, with the cpu and memory controllers enabled down the path.
A setting the config leaves unset stays unlimited.  The BestEffort tier gets
the minimum cpu shares, as upstream's QoS container manager sets it; the
Burstable tier's shares (upstream: the sum of its pods' requests) and the
kubepods root's node-allocatable limits are not managed.

The runtime removes only its containers' own cgroups, so the pod's
directories are ours to remove.  Only empty directories go (rmdir refuses
the others), so a pod with a process left is never touched.
"""

from __future__ import annotations

import pathlib
from typing import Any

from pyk8s.kubelet.kuberuntime import resources
from pyk8s.kubelet.kuberuntime.resources import PodCgroupConfig
from pyk8s.kubelet.kuberuntime.settings import RuntimeSettings

CGROUP_FS = pathlib.Path("/sys/fs/cgroup")
TIERS = ("", "/burstable", "/besteffort")
BESTEFFORT = "besteffort"
V1_UNLIMITED = "-1"


def is_v2(fs: pathlib.Path = CGROUP_FS) -> bool:
    return (fs / "cgroup.controllers").is_file()


def shares_to_weight(shares: int) -> int:
    """cgroup v2's cpu.weight for v1 cpu shares (the conversion runc and the kubelet use)."""
    return 1 + ((shares - 2) * 9999) // 262142


def _write(path: pathlib.Path, value: str) -> None:
    path.write_text(value)


def _ensure_v1(fs: pathlib.Path, parent: str, config: PodCgroupConfig) -> None:
    cpu, memory = fs / "cpu" / parent, fs / "memory" / parent
    cpu.mkdir(parents=True, exist_ok=True)
    memory.mkdir(parents=True, exist_ok=True)
    if cpu.parent.name == BESTEFFORT:
        _write(cpu.parent / "cpu.shares", str(resources.MIN_SHARES))
    _write(cpu / "cpu.shares", str(config.cpu_shares))
    if config.cpu_period is not None:
        _write(cpu / "cpu.cfs_period_us", str(config.cpu_period))
    _write(cpu / "cpu.cfs_quota_us", str(config.cpu_quota) if config.cpu_quota is not None else V1_UNLIMITED)
    _write(memory / "memory.limit_in_bytes",
           str(config.memory_limit) if config.memory_limit is not None else V1_UNLIMITED)


def _ensure_v2(fs: pathlib.Path, parent: str, config: PodCgroupConfig) -> None:
    path = fs / parent
    path.mkdir(parents=True, exist_ok=True)
    node = fs
    for part in pathlib.PurePosixPath(parent).parts:
        _write(node / "cgroup.subtree_control", "+cpu +memory")
        node = node / part
    if path.parent.name == BESTEFFORT:
        _write(path.parent / "cpu.weight", str(shares_to_weight(resources.MIN_SHARES)))
    _write(path / "cpu.weight", str(shares_to_weight(config.cpu_shares)))
    quota = "max" if config.cpu_quota is None or config.cpu_quota < 0 else str(config.cpu_quota)
    _write(path / "cpu.max", f"{quota} {config.cpu_period or 100_000}")
    _write(path / "memory.max", str(config.memory_limit) if config.memory_limit is not None else "max")


def ensure_pod_cgroup(cgroup_parent: str, config: PodCgroupConfig, fs: pathlib.Path = CGROUP_FS) -> None:
    """Create the pod's cgroup with its limits (OSError when the cgroup filesystem refuses)."""
    parent = cgroup_parent.strip("/")
    if not parent:
        return
    if is_v2(fs):
        _ensure_v2(fs, parent, config)
    else:
        _ensure_v1(fs, parent, config)


def remove_pod_cgroups(cgroup_root: str, uid: str, fs: pathlib.Path = CGROUP_FS) -> None:
    if not cgroup_root or not fs.is_dir():
        return
    hierarchies = [fs] if is_v2(fs) else [h for h in fs.iterdir() if h.is_dir()]
    for hierarchy in hierarchies:
        for tier in TIERS:
            path = hierarchy / f"{cgroup_root.strip('/')}{tier}/pod{uid}"
            try:
                path.rmdir()
            except OSError:
                pass


def ensure_for_pod(pod: dict[str, Any], settings: RuntimeSettings, cgroup_parent: str,
                   fs: pathlib.Path = CGROUP_FS) -> None:
    """The pod's cgroup as its sandbox is about to start (nothing when cgroups are left to the runtime)."""
    if not settings.cgroup_root or not cgroup_parent:
        return
    config = resources.pod_cgroup_config(pod, cfs_quota=settings.cpu_cfs_quota,
                                         period_us=settings.cpu_cfs_quota_period_us)
    ensure_pod_cgroup(cgroup_parent, config, fs)
