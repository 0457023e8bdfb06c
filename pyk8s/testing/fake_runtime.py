"""``FakeRuntime``: an in-memory RuntimeService + ImageService for the kubelet's unit tests.

Nothing runs.  Containers move created -> running on start and stay running
until the test says otherwise (``exit_container``) or they are stopped (exit
137 if the fake is told the container ignores SIGTERM, else 143; stops take no
time).  Tests script the rest:

* ``images`` — the set of present image references; ``pull_errors`` maps an
  image to the exception ``pull_image`` raises (ImageNotFoundError, ...);
  pulling anything else adds it;
* ``exec_handler`` — ``(container_id, cmd) -> ExecResult`` for ExecSync
  (probes); the default answers exit 0, no output;
* ``fail_next[method] = exc`` — the next call of that method raises ``exc``;
* ``calls`` — every call as ``(method, args...)``, in order;
* ``clock`` — a callable giving nanoseconds (inject a fake clock's).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from pyk8s.kubelet.runtime import interface as ri


@dataclass
class _FakeContainer:
    info: ri.Container
    config: ri.ContainerConfig
    log_path: str
    started_at: int = 0
    finished_at: int = 0
    exit_code: int = 0
    reason: str = ""
    message: str = ""
    ignores_sigterm: bool = False
    cpu_ns: int = 0
    memory: int = 0


@dataclass
class FakeRuntime:
    images: set[str] = field(default_factory=lambda: {"docker.io/library/busybox:1.36", "registry.k8s.io/pause:3.9"})
    pull_errors: dict[str, Exception] = field(default_factory=dict)
    exec_handler: Callable[[str, list[str]], ri.ExecResult] | None = None
    fail_next: dict[str, Exception] = field(default_factory=dict)
    network_ready: bool = True
    clock: Callable[[], int] = time.time_ns
    calls: list[tuple[object, ...]] = field(default_factory=list)
    sandboxes: dict[str, ri.PodSandbox] = field(default_factory=dict)
    containers: dict[str, _FakeContainer] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _ips: itertools.count[int] = field(default_factory=lambda: itertools.count(2))

    def _record(self, method: str, *args: object) -> None:
        self.calls.append((method, *args))
        exc = self.fail_next.pop(method, None)
        if exc is not None:
            raise exc

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"

    # ------------------------------------------------------------------ test controls
    def exit_container(self, container_id: str, exit_code: int, reason: str = "", message: str = "") -> None:
        """Makes a running container exit now (reason defaults like containerd's: Completed/Error)."""
        c = self.containers[container_id]
        c.info.state = ri.ContainerState.EXITED
        c.exit_code, c.finished_at, c.message = exit_code, self.clock(), message
        c.reason = reason or ("Completed" if exit_code == 0 else "Error")

    def set_usage(self, container_id: str, *, cpu_ns: int = 0, memory: int = 0) -> None:
        c = self.containers[container_id]
        c.cpu_ns, c.memory = cpu_ns, memory

    def ignore_sigterm(self, container_id: str) -> None:
        self.containers[container_id].ignores_sigterm = True

    # ------------------------------------------------------------------ runtime
    async def version(self) -> ri.VersionInfo:
        self._record("version")
        return ri.VersionInfo("0.1.0", "fake", "0.0.1", "v1")

    async def status(self, verbose: bool = False) -> ri.RuntimeStatus:
        self._record("status")
        return ri.RuntimeStatus([
            ri.RuntimeCondition("RuntimeReady", True),
            ri.RuntimeCondition("NetworkReady", self.network_ready, "" if self.network_ready else "NetworkPluginNotReady"),
        ])

    async def close(self) -> None:
        pass

    async def run_pod_sandbox(self, config: ri.PodSandboxConfig, runtime_handler: str = "") -> str:
        self._record("run_pod_sandbox", config)
        sid = self._next_id("sandbox-")
        ip = "" if config.host_network else f"10.244.0.{next(self._ips)}"
        self.sandboxes[sid] = ri.PodSandbox(
            id=sid, metadata=config.metadata, state=ri.SandboxState.READY, created_at=self.clock(),
            labels=dict(config.labels), annotations=dict(config.annotations), ip=ip, runtime_handler=runtime_handler,
        )
        return sid

    def _sandbox(self, sandbox_id: str) -> ri.PodSandbox:
        if sandbox_id not in self.sandboxes:
            raise ri.NotFoundError(f"sandbox {sandbox_id} not found")
        return self.sandboxes[sandbox_id]

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        self._record("stop_pod_sandbox", sandbox_id)
        if sandbox_id in self.sandboxes:
            for c in self.containers.values():
                if c.info.pod_sandbox_id == sandbox_id and c.info.state == ri.ContainerState.RUNNING:
                    self.exit_container(c.info.id, 137)
            self.sandboxes[sandbox_id].state = ri.SandboxState.NOTREADY

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        self._record("remove_pod_sandbox", sandbox_id)
        self.sandboxes.pop(sandbox_id, None)
        for cid in [k for k, c in self.containers.items() if c.info.pod_sandbox_id == sandbox_id]:
            del self.containers[cid]

    async def pod_sandbox_status(self, sandbox_id: str) -> ri.PodSandbox:
        self._record("pod_sandbox_status", sandbox_id)
        return replace(self._sandbox(sandbox_id))

    async def list_pod_sandbox(self, filter: ri.PodSandboxFilter | None = None) -> list[ri.PodSandbox]:
        self._record("list_pod_sandbox", filter)
        f = filter or ri.PodSandboxFilter()
        return [
            replace(s) for s in self.sandboxes.values()
            if (not f.id or s.id == f.id) and (f.state is None or s.state == f.state)
            and ri.matches_labels(s.labels, f.label_selector)
        ]

    async def create_container(
        self, sandbox_id: str, config: ri.ContainerConfig, sandbox_config: ri.PodSandboxConfig
    ) -> str:
        self._record("create_container", sandbox_id, config)
        self._sandbox(sandbox_id)
        if config.image not in self.images:
            raise ri.NotFoundError(f"image {config.image} not present")
        cid = self._next_id("container-")
        info = ri.Container(
            id=cid, pod_sandbox_id=sandbox_id, metadata=config.metadata, image=config.image,
            image_ref=f"sha256:{abs(hash(config.image)):064x}"[:71], state=ri.ContainerState.CREATED,
            created_at=self.clock(), labels=dict(config.labels), annotations=dict(config.annotations),
        )
        log_path = f"{sandbox_config.log_directory}/{config.log_path}" if config.log_path else ""
        self.containers[cid] = _FakeContainer(info, config, log_path)
        return cid

    def _container(self, container_id: str) -> _FakeContainer:
        if container_id not in self.containers:
            raise ri.NotFoundError(f"container {container_id} not found")
        return self.containers[container_id]

    async def start_container(self, container_id: str) -> None:
        self._record("start_container", container_id)
        c = self._container(container_id)
        if c.info.state != ri.ContainerState.CREATED:
            raise ri.RuntimeServiceError(f"container {container_id} is {c.info.state}")
        c.info.state, c.started_at = ri.ContainerState.RUNNING, self.clock()

    async def stop_container(self, container_id: str, timeout: int) -> None:  # noqa: ASYNC109 - CRI's grace period
        self._record("stop_container", container_id, timeout)
        c = self._container(container_id)
        if c.info.state == ri.ContainerState.RUNNING:
            self.exit_container(container_id, 137 if c.ignores_sigterm or timeout <= 0 else 143)

    async def remove_container(self, container_id: str) -> None:
        self._record("remove_container", container_id)
        self.containers.pop(container_id, None)

    async def list_containers(self, filter: ri.ContainerFilter | None = None) -> list[ri.Container]:
        self._record("list_containers", filter)
        f = filter or ri.ContainerFilter()
        return [
            replace(c.info) for c in self.containers.values()
            if (not f.id or c.info.id == f.id) and (f.state is None or c.info.state == f.state)
            and (not f.pod_sandbox_id or c.info.pod_sandbox_id == f.pod_sandbox_id)
            and ri.matches_labels(c.info.labels, f.label_selector)
        ]

    async def container_status(self, container_id: str, verbose: bool = False) -> ri.ContainerStatus:
        self._record("container_status", container_id)
        c = self._container(container_id)
        return ri.ContainerStatus(
            id=c.info.id, metadata=c.info.metadata, state=c.info.state, created_at=c.info.created_at,
            started_at=c.started_at, finished_at=c.finished_at, exit_code=c.exit_code, image=c.info.image,
            image_ref=c.info.image_ref, reason=c.reason, message=c.message, labels=dict(c.info.labels),
            annotations=dict(c.info.annotations), log_path=c.log_path, mounts=list(c.config.mounts),
        )

    async def container_stats(self, container_id: str) -> ri.ContainerStats:
        self._record("container_stats", container_id)
        c = self._container(container_id)
        return ri.ContainerStats(
            id=c.info.id, name=c.info.metadata.name, timestamp=self.clock(), cpu_usage_core_nanoseconds=c.cpu_ns,
            memory_working_set_bytes=c.memory, memory_usage_bytes=c.memory,
            labels=dict(c.info.labels), annotations=dict(c.info.annotations),
        )

    async def list_container_stats(self, filter: ri.ContainerStatsFilter | None = None) -> list[ri.ContainerStats]:
        f = filter or ri.ContainerStatsFilter()
        listed = await self.list_containers(
            ri.ContainerFilter(id=f.id, pod_sandbox_id=f.pod_sandbox_id, label_selector=f.label_selector,
                               state=ri.ContainerState.RUNNING)
        )
        return [await self.container_stats(c.id) for c in listed]

    async def reopen_container_log(self, container_id: str) -> None:
        self._record("reopen_container_log", container_id)
        self._container(container_id)

    async def exec_sync(self, container_id: str, cmd: list[str], timeout: int = 0) -> ri.ExecResult:  # noqa: ASYNC109
        self._record("exec_sync", container_id, list(cmd), timeout)
        if self._container(container_id).info.state != ri.ContainerState.RUNNING:
            raise ri.RuntimeServiceError(f"container {container_id} is not running")
        if self.exec_handler is not None:
            return self.exec_handler(container_id, list(cmd))
        return ri.ExecResult(0, b"", b"")

    async def exec(self, request: ri.ExecRequest) -> str:
        self._record("exec", request)
        self._container(request.container_id)
        return f"http://127.0.0.1:0/exec/{request.container_id}"

    async def attach(
        self, container_id: str, *, stdin: bool = False, tty: bool = False, stdout: bool = True, stderr: bool = True
    ) -> str:
        self._record("attach", container_id)
        self._container(container_id)
        return f"http://127.0.0.1:0/attach/{container_id}"

    async def port_forward(self, sandbox_id: str, ports: list[int]) -> str:
        self._record("port_forward", sandbox_id, list(ports))
        self._sandbox(sandbox_id)
        return f"http://127.0.0.1:0/portforward/{sandbox_id}"

    # ------------------------------------------------------------------ images
    async def pull_image(
        self, image: str, auth: ri.AuthConfig | None = None, sandbox_config: ri.PodSandboxConfig | None = None
    ) -> str:
        self._record("pull_image", image)
        if image in self.pull_errors:
            raise self.pull_errors[image]
        self.images.add(image)
        return f"sha256:{abs(hash(image)):064x}"[:71]

    async def image_status(self, image: str) -> ri.Image | None:
        self._record("image_status", image)
        if image not in self.images:
            return None
        return ri.Image(id=f"sha256:{abs(hash(image)):064x}"[:71], repo_tags=[image], size=1024)

    async def list_images(self, image: str = "") -> list[ri.Image]:
        self._record("list_images", image)
        return [ri.Image(id=_image_id(i), repo_tags=[i], size=1024)
                for i in sorted(self.images) if not image or i == image]

    async def remove_image(self, image: str) -> None:
        """By reference or by ID, as CRI's RemoveImage."""
        self._record("remove_image", image)
        self.images -= {i for i in self.images if image in (i, _image_id(i))}

    async def image_fs_info(self) -> list[ri.FilesystemUsage]:
        self._record("image_fs_info")
        return [ri.FilesystemUsage("/fake/images", 1024 * len(self.images), len(self.images), self.clock())]


def _image_id(ref: str) -> str:
    return f"sha256:{abs(hash(ref)):064x}"[:71]
