"""The CRI-shaped seam between the kubelet and a container runtime.

The kubelet never touches containers directly: it holds a ``RuntimeService``
and an ``ImageService`` and calls them with the plain dataclasses below.  The
shapes follow the CRI v1 API (runtime.v1) closely, so the containerd
implementation is a thin translation to protobuf, yet no protobuf class leaks
past it.  Implementations:

* ``pyk8s.kubelet.runtime.cri.client.CRIClient`` — real CRI v1 gRPC (containerd), the default;
* ``pyk8s.kubelet.runtime.process.ProcessRuntime`` — plain host processes, isolates nothing;
* ``pyk8s.testing.fake_runtime.FakeRuntime`` — in-memory, for unit tests.

Times are nanoseconds since the epoch (as in CRI).  Failures are exceptions
from the ``RuntimeServiceError`` family; image pulls raise one of three
distinct errors so the kubelet can tell ErrImagePull causes apart.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

# Annotation the kubelet stores on every container; restart counts come from it.
RESTART_COUNT_ANNOTATION = "io.kubernetes.container.restartCount"

# --------------------------------------------------------------------------- errors


class RuntimeServiceError(Exception):
    """A runtime call failed."""


class NotFoundError(RuntimeServiceError):
    """The sandbox, container or image does not exist."""


class ImagePullError(RuntimeServiceError):
    """Base of the pull failures (the kubelet reports them as ErrImagePull)."""


class ImageNotFoundError(ImagePullError):
    """The registry answered, but has no such repository or tag."""


class RegistryUnavailableError(ImagePullError):
    """The registry could not be reached (connection refused, DNS, timeout, 5xx)."""


class RegistryAuthError(ImagePullError):
    """The registry refused our credentials (401/403)."""


class ExecTimeoutError(RuntimeServiceError):
    """ExecSync's command did not finish within its timeout."""


# --------------------------------------------------------------------------- sandboxes


class SandboxState(enum.StrEnum):
    READY = "SANDBOX_READY"
    NOTREADY = "SANDBOX_NOTREADY"


class ContainerState(enum.StrEnum):
    CREATED = "CONTAINER_CREATED"
    RUNNING = "CONTAINER_RUNNING"
    EXITED = "CONTAINER_EXITED"
    UNKNOWN = "CONTAINER_UNKNOWN"


@dataclass
class PodSandboxMetadata:
    name: str
    namespace: str = "default"
    uid: str = ""
    attempt: int = 0


@dataclass
class PortMapping:
    container_port: int
    host_port: int = 0
    protocol: str = "TCP"  # TCP | UDP | SCTP
    host_ip: str = ""


@dataclass
class DNSConfig:
    servers: list[str] = field(default_factory=list)
    searches: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)


@dataclass
class SecurityProfile:
    """A CRI seccomp or AppArmor profile: RuntimeDefault | Unconfined | Localhost (with ``localhost_ref``)."""

    profile_type: str = "Unconfined"
    localhost_ref: str = ""


@dataclass
class SELinuxOption:
    user: str = ""
    role: str = ""
    type: str = ""
    level: str = ""


@dataclass
class PodSandboxConfig:
    metadata: PodSandboxMetadata
    hostname: str = ""
    log_directory: str = ""
    dns: DNSConfig | None = None
    port_mappings: list[PortMapping] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    cgroup_parent: str = ""
    host_network: bool = False
    privileged: bool = False
    sysctls: dict[str, str] = field(default_factory=dict)
    # CRI NamespaceMode names for the pod's PID and IPC namespaces: POD | CONTAINER | NODE.
    pid_mode: str = "CONTAINER"
    ipc_mode: str = "POD"
    seccomp: SecurityProfile | None = None
    selinux: SELinuxOption | None = None
    run_as_user: int | None = None
    run_as_group: int | None = None
    supplemental_groups: list[int] = field(default_factory=list)


@dataclass
class PodSandbox:
    """A sandbox as ListPodSandbox and PodSandboxStatus report it (``ip`` only from status)."""

    id: str
    metadata: PodSandboxMetadata
    state: SandboxState
    created_at: int
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    ip: str = ""
    additional_ips: list[str] = field(default_factory=list)
    runtime_handler: str = ""


@dataclass
class PodSandboxFilter:
    id: str = ""
    state: SandboxState | None = None
    label_selector: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- containers


@dataclass
class ContainerMetadata:
    name: str
    attempt: int = 0


@dataclass
class Mount:
    container_path: str
    host_path: str
    readonly: bool = False


@dataclass
class LinuxResources:
    """cgroup settings: cpu_quota/cpu_period in microseconds, memory in bytes (0 = unset)."""

    cpu_period: int = 0
    cpu_quota: int = 0
    cpu_shares: int = 0
    memory_limit_in_bytes: int = 0
    oom_score_adj: int = 0
    cpuset_cpus: str = ""


@dataclass
class ContainerConfig:
    metadata: ContainerMetadata
    image: str
    command: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    working_dir: str = ""
    envs: dict[str, str] = field(default_factory=dict)
    mounts: list[Mount] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    log_path: str = ""  # relative to the sandbox's log_directory
    stdin: bool = False
    stdin_once: bool = False
    tty: bool = False
    resources: LinuxResources | None = None
    privileged: bool = False
    run_as_user: int | None = None
    run_as_group: int | None = None
    readonly_rootfs: bool = False
    no_new_privs: bool = False
    capabilities_add: list[str] = field(default_factory=list)
    capabilities_drop: list[str] = field(default_factory=list)
    supplemental_groups: list[int] = field(default_factory=list)
    # Share this container's PID namespace (ephemeral containers' targetContainerName).
    pid_target_container_id: str = ""
    pid_mode: str = "CONTAINER"  # POD | CONTAINER | NODE (as the sandbox's)
    ipc_mode: str = "POD"
    seccomp: SecurityProfile | None = None
    apparmor: SecurityProfile | None = None
    selinux: SELinuxOption | None = None
    masked_paths: list[str] = field(default_factory=list)
    readonly_paths: list[str] = field(default_factory=list)


@dataclass
class Container:
    id: str
    pod_sandbox_id: str
    metadata: ContainerMetadata
    image: str
    image_ref: str
    state: ContainerState
    created_at: int
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass
class ContainerStatus:
    id: str
    metadata: ContainerMetadata
    state: ContainerState
    created_at: int
    started_at: int = 0
    finished_at: int = 0
    exit_code: int = 0
    image: str = ""
    image_ref: str = ""
    reason: str = ""  # OOMKilled | Error | Completed | ""
    message: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    log_path: str = ""
    mounts: list[Mount] = field(default_factory=list)
    pid: int = 0  # from verbose info when the runtime offers it

    @property
    def restart_count(self) -> int:
        try:
            return int(self.annotations.get(RESTART_COUNT_ANNOTATION, "0"))
        except ValueError:
            return 0


@dataclass
class ContainerFilter:
    id: str = ""
    state: ContainerState | None = None
    pod_sandbox_id: str = ""
    label_selector: dict[str, str] = field(default_factory=dict)


@dataclass
class ContainerStatsFilter:
    id: str = ""
    pod_sandbox_id: str = ""
    label_selector: dict[str, str] = field(default_factory=dict)


@dataclass
class ContainerStats:
    id: str
    name: str
    timestamp: int
    cpu_usage_core_nanoseconds: int = 0  # cumulative
    cpu_usage_nano_cores: int = 0  # averaged over the runtime's sample window
    memory_working_set_bytes: int = 0
    memory_usage_bytes: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    writable_layer_bytes: int | None = None  # the container's rootfs usage, when the runtime reports it
    writable_layer_inodes: int | None = None


@dataclass
class ExecResult:
    exit_code: int
    stdout: bytes
    stderr: bytes


@dataclass
class ExecRequest:
    container_id: str
    cmd: list[str]
    tty: bool = False
    stdin: bool = False
    stdout: bool = True
    stderr: bool = True


# --------------------------------------------------------------------------- images and status


@dataclass
class AuthConfig:
    username: str = ""
    password: str = ""
    auth: str = ""
    server_address: str = ""
    identity_token: str = ""
    registry_token: str = ""


@dataclass
class Image:
    id: str
    repo_tags: list[str] = field(default_factory=list)
    repo_digests: list[str] = field(default_factory=list)
    size: int = 0
    uid: int | None = None
    username: str = ""
    pinned: bool = False


@dataclass
class FilesystemUsage:
    mountpoint: str
    used_bytes: int
    inodes_used: int
    timestamp: int


@dataclass
class VersionInfo:
    version: str
    runtime_name: str
    runtime_version: str
    runtime_api_version: str


@dataclass
class RuntimeCondition:
    type: str  # RuntimeReady | NetworkReady
    status: bool
    reason: str = ""
    message: str = ""


@dataclass
class RuntimeStatus:
    conditions: list[RuntimeCondition]
    info: dict[str, str] = field(default_factory=dict)

    def condition(self, type_: str) -> RuntimeCondition | None:
        return next((c for c in self.conditions if c.type == type_), None)

    @property
    def runtime_ready(self) -> bool:
        cond = self.condition("RuntimeReady")
        return bool(cond and cond.status)

    @property
    def network_ready(self) -> bool:
        cond = self.condition("NetworkReady")
        return bool(cond and cond.status)


# --------------------------------------------------------------------------- protocols


@runtime_checkable
class RuntimeService(Protocol):
    async def version(self) -> VersionInfo: ...
    async def status(self, verbose: bool = False) -> RuntimeStatus: ...

    async def run_pod_sandbox(self, config: PodSandboxConfig, runtime_handler: str = "") -> str: ...
    async def stop_pod_sandbox(self, sandbox_id: str) -> None: ...
    async def remove_pod_sandbox(self, sandbox_id: str) -> None: ...
    async def pod_sandbox_status(self, sandbox_id: str) -> PodSandbox: ...
    async def list_pod_sandbox(self, filter: PodSandboxFilter | None = None) -> list[PodSandbox]: ...

    async def create_container(
        self, sandbox_id: str, config: ContainerConfig, sandbox_config: PodSandboxConfig
    ) -> str: ...
    async def start_container(self, container_id: str) -> None: ...
    async def stop_container(self, container_id: str, timeout: int) -> None:  # noqa: ASYNC109 - CRI's grace period
        """SIGTERM (or the image's stop signal), then SIGKILL after ``timeout`` seconds."""
        ...

    async def remove_container(self, container_id: str) -> None: ...
    async def list_containers(self, filter: ContainerFilter | None = None) -> list[Container]: ...
    async def container_status(self, container_id: str) -> ContainerStatus: ...
    async def container_stats(self, container_id: str) -> ContainerStats: ...
    async def list_container_stats(self, filter: ContainerStatsFilter | None = None) -> list[ContainerStats]: ...
    async def reopen_container_log(self, container_id: str) -> None: ...

    async def exec_sync(self, container_id: str, cmd: list[str], timeout: int = 0) -> ExecResult: ...  # noqa: ASYNC109
    async def exec(self, request: ExecRequest) -> str:
        """Returns the URL of the runtime's streaming server for this exec (see ``cri.streaming``)."""
        ...

    async def attach(
        self, container_id: str, *, stdin: bool = False, tty: bool = False, stdout: bool = True, stderr: bool = True
    ) -> str: ...
    async def port_forward(self, sandbox_id: str, ports: list[int]) -> str: ...

    async def close(self) -> None: ...


@runtime_checkable
class ImageService(Protocol):
    async def pull_image(
        self, image: str, auth: AuthConfig | None = None, sandbox_config: PodSandboxConfig | None = None
    ) -> str:
        """Pulls and returns the image ref; raises ImageNotFoundError / RegistryUnavailableError / RegistryAuthError."""
        ...

    async def image_status(self, image: str) -> Image | None: ...
    async def list_images(self, image: str = "") -> list[Image]: ...
    async def remove_image(self, image: str) -> None: ...
    async def image_fs_info(self) -> list[FilesystemUsage]: ...


def matches_labels(labels: Mapping[str, str], selector: Mapping[str, str]) -> bool:
    """CRI label selectors are plain ANDed equality (matchLabels only)."""
    return all(labels.get(k) == v for k, v in selector.items())
