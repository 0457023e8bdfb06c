"""Small helpers the runtime e2e tests share: sandboxes and containers with cleanup by ID."""

from __future__ import annotations

import asyncio
import pathlib
import time
import uuid

from pyk8s.kubelet.runtime import interface as ri

BUSYBOX = "docker.io/library/busybox:1.36"


class Pods:
    """Creates sandboxes through any RuntimeService and removes exactly those on ``cleanup``."""

    def __init__(self, runtime: ri.RuntimeService, log_root: pathlib.Path) -> None:
        self.runtime = runtime
        self.log_root = log_root
        self.sandboxes: list[str] = []

    async def sandbox(self, name: str, **kwargs: object) -> tuple[str, ri.PodSandboxConfig]:
        uid = uuid.uuid4().hex
        config = ri.PodSandboxConfig(
            metadata=ri.PodSandboxMetadata(name=name, namespace="e2e", uid=uid),
            hostname=name,
            log_directory=str(self.log_root / f"e2e_{name}_{uid}"),
            **kwargs,  # type: ignore[arg-type]
        )
        sandbox_id = await self.runtime.run_pod_sandbox(config)
        self.sandboxes.append(sandbox_id)
        return sandbox_id, config

    async def container(
        self, sandbox: tuple[str, ri.PodSandboxConfig], name: str, command: list[str], *,
        resources: ri.LinuxResources | None = None, image: str = BUSYBOX, start: bool = True,
    ) -> str:
        sandbox_id, sandbox_config = sandbox
        config = ri.ContainerConfig(
            metadata=ri.ContainerMetadata(name=name), image=image, command=command,
            log_path=f"{name}/0.log", resources=resources,
        )
        container_id = await self.runtime.create_container(sandbox_id, config, sandbox_config)
        if start:
            await self.runtime.start_container(container_id)
        return container_id

    async def wait_state(self, container_id: str, state: ri.ContainerState, wait_s: float = 15) -> ri.ContainerStatus:
        deadline = time.monotonic() + wait_s
        while True:
            status = await self.runtime.container_status(container_id)
            if status.state == state:
                return status
            if time.monotonic() > deadline:
                raise AssertionError(f"{container_id} stayed {status.state}, wanted {state}")
            await asyncio.sleep(0.05)

    async def exec_until(self, container_id: str, cmd: list[str], wait_s: float = 10) -> ri.ExecResult:
        """Retries ExecSync until it exits 0 (servers need a moment to listen)."""
        deadline = time.monotonic() + wait_s
        while True:
            result = await self.runtime.exec_sync(container_id, cmd, 10)
            if result.exit_code == 0 or time.monotonic() > deadline:
                return result
            await asyncio.sleep(0.1)

    async def cleanup(self) -> None:
        for sandbox_id in reversed(self.sandboxes):
            try:
                await self.runtime.stop_pod_sandbox(sandbox_id)
                await self.runtime.remove_pod_sandbox(sandbox_id)
            except ri.NotFoundError:
                pass
        self.sandboxes.clear()
