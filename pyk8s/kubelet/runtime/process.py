"""The fallback runtime: containers as plain host processes.  It isolates NOTHING.

For machines without root or containerd.  The same ``RuntimeService`` /
``ImageService`` contracts hold where they can:

* an image is a local rootfs directory (e.g. the unpacked busybox image),
  registered by name with ``add_image`` or given as an absolute path;
* a container is a host process started in its own session with its working
  directory inside the rootfs, ``PATH`` pointing at the rootfs's bin dirs
  first (no chroot, so it works unprivileged);
* stdout/stderr are written to the CRI log file in the CRI format
  (``<RFC3339Nano> stdout F message``);
* ExecSync runs the command the same way (same rootfs, cwd and env);
* stop sends SIGTERM to the process group, then SIGKILL after the timeout;
  a signal death reports 128+N, like a container;
* every pod's IP is 127.0.0.1 and there are no resource limits, no OOM
  reason, no streaming exec/attach/port-forward.

State lives in memory: a restarted pyk8s does not find these processes again.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import os
import pathlib
import shutil
import signal
import time
import uuid
from dataclasses import dataclass, field
from typing import BinaryIO

from pyk8s.kubelet.images import catalog
from pyk8s.kubelet.runtime import interface as ri

log = logging.getLogger(__name__)

WARNING = (
    "pyk8s is using the PROCESS runtime: containers are plain host processes with NO isolation "
    "(no namespaces, no cgroup limits, no filesystem confinement). Use containerd for anything real."
)
_BIN_DIRS = ("bin", "usr/bin", "sbin", "usr/sbin", "usr/local/bin")
_CLK_TCK = os.sysconf("SC_CLK_TCK")


def now_ns() -> int:
    return time.time_ns()


def cri_timestamp(ns: int | None = None) -> str:
    ns = now_ns() if ns is None else ns
    dt = datetime.datetime.fromtimestamp(ns // 1_000_000_000, tz=datetime.UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{ns % 1_000_000_000:09d}Z"


@dataclass
class _Sandbox:
    info: ri.PodSandbox
    config: ri.PodSandboxConfig


@dataclass
class _Container:
    info: ri.Container
    config: ri.ContainerConfig
    rootfs: pathlib.Path
    log_path: str
    env: dict[str, str]
    started_at: int = 0
    finished_at: int = 0
    exit_code: int = 0
    proc: asyncio.subprocess.Process | None = None
    pumps: list[asyncio.Task[None]] = field(default_factory=list)
    waiter: asyncio.Task[None] | None = None


class ProcessRuntime:
    """RuntimeService + ImageService over host processes (see the module docstring)."""

    def __init__(self, data_dir: pathlib.Path) -> None:
        self.data_dir = pathlib.Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._images: dict[str, pathlib.Path] = {}
        self._sandboxes: dict[str, _Sandbox] = {}
        self._containers: dict[str, _Container] = {}
        log.warning(WARNING)

    # ------------------------------------------------------------------ images
    def add_image(self, name: str, rootfs: pathlib.Path) -> None:
        self._images[catalog.normalise(name)] = pathlib.Path(rootfs).resolve()

    def _rootfs(self, image: str) -> pathlib.Path:
        # Names are matched as a registry reads them (busybox:1.36 is docker.io/library/busybox:1.36).
        if not image.startswith("/") and catalog.normalise(image) in self._images:
            return self._images[catalog.normalise(image)]
        path = pathlib.Path(image)
        if path.is_absolute() and path.is_dir():
            return path
        raise ri.ImageNotFoundError(f"image {image!r} is not a registered rootfs or an existing directory")

    async def pull_image(
        self, image: str, auth: ri.AuthConfig | None = None, sandbox_config: ri.PodSandboxConfig | None = None
    ) -> str:
        self._rootfs(image)
        return image

    async def image_status(self, image: str) -> ri.Image | None:
        try:
            rootfs = self._rootfs(image)
        except ri.ImageNotFoundError:
            return None
        return ri.Image(id=str(rootfs), repo_tags=[image])

    async def list_images(self, image: str = "") -> list[ri.Image]:
        return [ri.Image(id=str(p), repo_tags=[n]) for n, p in self._images.items() if not image or n == image]

    async def remove_image(self, image: str) -> None:
        self._images.pop(image, None)

    async def image_fs_info(self) -> list[ri.FilesystemUsage]:
        usage = shutil.disk_usage(self.data_dir)
        return [ri.FilesystemUsage(str(self.data_dir), usage.used, 0, now_ns())]

    # ------------------------------------------------------------------ runtime info
    async def version(self) -> ri.VersionInfo:
        return ri.VersionInfo("0.1.0", "pyk8s-process", "0.1.0", "v1")

    async def status(self, verbose: bool = False) -> ri.RuntimeStatus:
        return ri.RuntimeStatus([ri.RuntimeCondition("RuntimeReady", True), ri.RuntimeCondition("NetworkReady", True)])

    async def close(self) -> None:
        """Kills whatever is still running: these processes do not outlive pyk8s."""
        for cid in list(self._containers):
            await self.stop_container(cid, 0)

    # ------------------------------------------------------------------ sandboxes
    async def run_pod_sandbox(self, config: ri.PodSandboxConfig, runtime_handler: str = "") -> str:
        sandbox_id = uuid.uuid4().hex
        info = ri.PodSandbox(
            id=sandbox_id, metadata=config.metadata, state=ri.SandboxState.READY, created_at=now_ns(),
            labels=dict(config.labels), annotations=dict(config.annotations), ip="127.0.0.1",
        )
        self._sandboxes[sandbox_id] = _Sandbox(info, config)
        if config.log_directory:
            _make_dirs(config.log_directory)
        return sandbox_id

    def _sandbox(self, sandbox_id: str) -> _Sandbox:
        try:
            return self._sandboxes[sandbox_id]
        except KeyError:
            raise ri.NotFoundError(f"sandbox {sandbox_id} not found") from None

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        if sandbox_id not in self._sandboxes:
            return
        for c in list(self._containers.values()):
            if c.info.pod_sandbox_id == sandbox_id:
                await self.stop_container(c.info.id, 0)
        self._sandboxes[sandbox_id].info.state = ri.SandboxState.NOTREADY

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        await self.stop_pod_sandbox(sandbox_id)
        for c in list(self._containers.values()):
            if c.info.pod_sandbox_id == sandbox_id:
                await self.remove_container(c.info.id)
        self._sandboxes.pop(sandbox_id, None)

    async def pod_sandbox_status(self, sandbox_id: str) -> ri.PodSandbox:
        return self._sandbox(sandbox_id).info

    async def list_pod_sandbox(self, filter: ri.PodSandboxFilter | None = None) -> list[ri.PodSandbox]:
        f = filter or ri.PodSandboxFilter()
        return [
            s.info for s in self._sandboxes.values()
            if (not f.id or s.info.id == f.id) and (f.state is None or s.info.state == f.state)
            and ri.matches_labels(s.info.labels, f.label_selector)
        ]

    # ------------------------------------------------------------------ containers
    async def create_container(
        self, sandbox_id: str, config: ri.ContainerConfig, sandbox_config: ri.PodSandboxConfig
    ) -> str:
        sandbox = self._sandbox(sandbox_id)
        rootfs = self._rootfs(config.image)
        if not (config.command or config.args):
            raise ri.RuntimeServiceError("the process runtime needs an explicit command (images carry no config)")
        container_id = uuid.uuid4().hex
        log_dir = sandbox.config.log_directory or str(self.data_dir / "logs" / sandbox_id)
        log_path = os.path.join(log_dir, config.log_path or f"{config.metadata.name}.log")
        info = ri.Container(
            id=container_id, pod_sandbox_id=sandbox_id, metadata=config.metadata, image=config.image,
            image_ref=str(rootfs), state=ri.ContainerState.CREATED, created_at=now_ns(),
            labels=dict(config.labels), annotations=dict(config.annotations),
        )
        self._containers[container_id] = _Container(info, config, rootfs, log_path, self._env(rootfs, config, sandbox))
        return container_id

    def _env(self, rootfs: pathlib.Path, config: ri.ContainerConfig, sandbox: _Sandbox) -> dict[str, str]:
        path = ":".join(str(rootfs / d) for d in _BIN_DIRS) + ":" + os.environ.get("PATH", "/usr/bin:/bin")
        env = {"PATH": path, "HOME": str(rootfs / "root"), "HOSTNAME": sandbox.config.hostname or sandbox.info.metadata.name}
        env.update(config.envs)
        return env

    def _argv(self, c: _Container, argv: list[str]) -> list[str]:
        exe = argv[0]
        if "/" in exe:
            candidate = c.rootfs / exe.lstrip("/") if exe.startswith("/") else c.rootfs / exe
            return [str(candidate) if candidate.exists() else exe, *argv[1:]]
        found = shutil.which(exe, path=c.env["PATH"])
        if found is None:
            raise ri.RuntimeServiceError(f"executable {exe!r} not found in {c.rootfs} or on PATH")
        return [found, *argv[1:]]

    def _cwd(self, c: _Container) -> str:
        cwd = c.rootfs / c.config.working_dir.lstrip("/") if c.config.working_dir else c.rootfs
        return str(cwd if cwd.is_dir() else c.rootfs)

    def _container(self, container_id: str) -> _Container:
        try:
            return self._containers[container_id]
        except KeyError:
            raise ri.NotFoundError(f"container {container_id} not found") from None

    async def start_container(self, container_id: str) -> None:
        c = self._container(container_id)
        if c.info.state != ri.ContainerState.CREATED:
            raise ri.RuntimeServiceError(f"container {container_id} is {c.info.state}, not created")
        argv = self._argv(c, [*c.config.command, *c.config.args])
        _make_dirs(os.path.dirname(c.log_path))
        c.proc = await asyncio.create_subprocess_exec(
            *argv, cwd=self._cwd(c), env=c.env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True,
        )
        c.started_at = now_ns()
        c.info.state = ri.ContainerState.RUNNING
        assert c.proc.stdout is not None and c.proc.stderr is not None
        c.pumps = [
            asyncio.create_task(self._pump(c, c.proc.stdout, "stdout")),
            asyncio.create_task(self._pump(c, c.proc.stderr, "stderr")),
        ]
        c.waiter = asyncio.create_task(self._wait(c))

    async def _pump(self, c: _Container, stream: asyncio.StreamReader, name: str) -> None:
        # Local appends are short; the pipe read is what blocks, and it is awaited.
        with _open_log(c.log_path) as out:
            while line := await stream.readline():
                tag, body = (b"F", line[:-1]) if line.endswith(b"\n") else (b"P", line)
                out.write(f"{cri_timestamp()} {name} ".encode() + tag + b" " + body + b"\n")
                out.flush()

    async def _wait(self, c: _Container) -> None:
        assert c.proc is not None
        code = await c.proc.wait()
        await asyncio.gather(*c.pumps, return_exceptions=True)
        c.exit_code = 128 - code if code < 0 else code
        c.finished_at = now_ns()
        c.info.state = ri.ContainerState.EXITED

    async def stop_container(self, container_id: str, timeout: int) -> None:  # noqa: ASYNC109 - CRI's grace period
        c = self._container(container_id)
        if c.proc is None or c.info.state != ri.ContainerState.RUNNING or c.waiter is None:
            return
        if timeout > 0:
            self._signal_group(c, signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.shield(c.waiter), timeout)
                return
            except TimeoutError:
                pass
        self._signal_group(c, signal.SIGKILL)
        await c.waiter

    @staticmethod
    def _signal_group(c: _Container, sig: signal.Signals) -> None:
        assert c.proc is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(c.proc.pid, sig)

    async def remove_container(self, container_id: str) -> None:
        if container_id not in self._containers:
            return
        await self.stop_container(container_id, 0)
        self._containers.pop(container_id, None)

    async def list_containers(self, filter: ri.ContainerFilter | None = None) -> list[ri.Container]:
        f = filter or ri.ContainerFilter()
        return [
            c.info for c in self._containers.values()
            if (not f.id or c.info.id == f.id) and (f.state is None or c.info.state == f.state)
            and (not f.pod_sandbox_id or c.info.pod_sandbox_id == f.pod_sandbox_id)
            and ri.matches_labels(c.info.labels, f.label_selector)
        ]

    async def container_status(self, container_id: str, verbose: bool = False) -> ri.ContainerStatus:
        c = self._container(container_id)
        reason = ""
        if c.info.state == ri.ContainerState.EXITED:
            reason = "Completed" if c.exit_code == 0 else "Error"
        return ri.ContainerStatus(
            id=c.info.id, metadata=c.info.metadata, state=c.info.state, created_at=c.info.created_at,
            started_at=c.started_at, finished_at=c.finished_at, exit_code=c.exit_code, image=c.info.image,
            image_ref=c.info.image_ref, reason=reason, labels=c.info.labels, annotations=c.info.annotations,
            log_path=c.log_path, mounts=list(c.config.mounts),
            pid=c.proc.pid if c.proc is not None and c.info.state == ri.ContainerState.RUNNING else 0,
        )

    async def container_stats(self, container_id: str) -> ri.ContainerStats:
        c = self._container(container_id)
        cpu_ns, rss = 0, 0
        if c.proc is not None and c.info.state == ri.ContainerState.RUNNING:
            cpu_ns, rss = _proc_usage(c.proc.pid)
        return ri.ContainerStats(
            id=c.info.id, name=c.info.metadata.name, timestamp=now_ns(), cpu_usage_core_nanoseconds=cpu_ns,
            memory_working_set_bytes=rss, memory_usage_bytes=rss, labels=c.info.labels, annotations=c.info.annotations,
        )

    async def list_container_stats(self, filter: ri.ContainerStatsFilter | None = None) -> list[ri.ContainerStats]:
        f = filter or ri.ContainerStatsFilter()
        cf = ri.ContainerFilter(id=f.id, pod_sandbox_id=f.pod_sandbox_id, label_selector=f.label_selector,
                                state=ri.ContainerState.RUNNING)
        return [await self.container_stats(c.id) for c in await self.list_containers(cf)]

    async def reopen_container_log(self, container_id: str) -> None:
        self._container(container_id)  # the pumps open the file per write batch; nothing to reopen

    async def exec_sync(self, container_id: str, cmd: list[str], timeout: int = 0) -> ri.ExecResult:  # noqa: ASYNC109
        c = self._container(container_id)
        if c.info.state != ri.ContainerState.RUNNING:
            raise ri.RuntimeServiceError(f"container {container_id} is not running")
        proc = await asyncio.create_subprocess_exec(
            *self._argv(c, cmd), cwd=self._cwd(c), env=c.env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout=timeout or None)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
            raise ri.ExecTimeoutError(f"command {cmd} timed out after {timeout}s") from None
        code = proc.returncode or 0
        return ri.ExecResult(128 - code if code < 0 else code, out, err)

    async def exec(self, request: ri.ExecRequest) -> str:
        raise ri.RuntimeServiceError("the process runtime has no streaming server (use exec_sync)")

    async def attach(
        self, container_id: str, *, stdin: bool = False, tty: bool = False, stdout: bool = True, stderr: bool = True
    ) -> str:
        raise ri.RuntimeServiceError("the process runtime has no streaming server")

    async def port_forward(self, sandbox_id: str, ports: list[int]) -> str:
        raise ri.RuntimeServiceError("the process runtime has no streaming server (pods listen on 127.0.0.1)")


def _make_dirs(path: str) -> None:
    os.makedirs(path, exist_ok=True)


def _open_log(path: str) -> BinaryIO:
    return open(path, "ab")  # noqa: SIM115 - the caller's with-block closes it


def _proc_usage(pid: int) -> tuple[int, int]:
    """(cumulative CPU ns, resident bytes) of one process from /proc."""
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime + stime
        rss_pages = int(fields[21])
    except (OSError, IndexError, ValueError):
        return 0, 0
    return ticks * 1_000_000_000 // _CLK_TCK, rss_pages * os.sysconf("SC_PAGE_SIZE")
