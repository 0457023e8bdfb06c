"""The kubelet settings the runtime manager reads (a slice of KubeletConfiguration)."""

from __future__ import annotations

import pathlib
from dataclasses import dataclass, field


@dataclass
class RuntimeSettings:
    """Defaults are upstream's; paths hang off ``root_dir`` (``--root-dir``) unless set.

    ``cgroup_root`` is the cgroupfs parent of the QoS tree (``/kubepods``);
    empty leaves cgroup placement to the runtime (the process runtime, tests).
    """

    root_dir: pathlib.Path = pathlib.Path("/var/lib/kubelet")
    pod_logs_dir: pathlib.Path | None = None  # default <root_dir>/logs/pods (upstream: /var/log/pods)
    container_logs_dir: pathlib.Path | None = None  # default <root_dir>/logs/containers (/var/log/containers)
    node_name: str = ""
    node_ips: list[str] = field(default_factory=list)
    cluster_dns: list[str] = field(default_factory=lambda: ["10.96.0.10"])
    cluster_domain: str = "cluster.local"
    resolv_conf: str = "/etc/resolv.conf"
    cgroup_root: str = "/kubepods"
    cpu_cfs_quota: bool = True
    cpu_cfs_quota_period_us: int = 100_000
    memory_capacity: int = 0  # bytes, for Burstable oom_score_adj; 0 = read /proc/meminfo
    allocatable: dict[str, str] = field(default_factory=dict)  # defaults for unset limits in downward API
    runtime_handler: str = ""

    @property
    def logs_dir(self) -> pathlib.Path:
        return self.pod_logs_dir or self.root_dir / "logs" / "pods"

    @property
    def links_dir(self) -> pathlib.Path:
        return self.container_logs_dir or self.root_dir / "logs" / "containers"

    @property
    def pods_dir(self) -> pathlib.Path:
        return self.root_dir / "pods"

    def pod_dir(self, uid: str) -> pathlib.Path:
        return self.pods_dir / uid
