"""What the kubelet's /exec, /attach and /portForward need from the node: containers and sandboxes by name.

Upstream's kubelet answers these from the pods it knows and the runtime's
*running* containers (``findContainer`` lists running pods only), then asks
the runtime for a streaming URL (CRI ``Exec``/``Attach``/``PortForward``).
The refusals are worded as upstream's: an unknown pod is 404 ``pod does not
exist``; a container that is not running (never started, exited, or
unknown) is 500 ``container not found ("c")``; a pod without a ready
sandbox is 500 ``pod not found ("name_namespace")``.  Attach takes its TTY
setting from the container's spec, as upstream does (a running process
cannot change whether it has a terminal).
"""

from __future__ import annotations

from typing import Any

from pyk8s.client.tools.lister import Lister
from pyk8s.kubelet.kuberuntime.manager import RuntimeManager
from pyk8s.kubelet.runtime import interface as ri

Obj = dict[str, Any]


class StreamRefused(Exception):
    """An error answered before any upgrade: HTTP ``code`` with ``message`` as the plain-text body."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class PodStreams:
    def __init__(self, pods: Lister, manager: RuntimeManager, runtime: ri.RuntimeService) -> None:
        self.pods, self.manager, self.runtime = pods, manager, runtime

    def _pod(self, namespace: str, name: str) -> Obj:
        pod = self.pods.get(name, namespace=namespace)
        if pod is None:
            raise StreamRefused(404, "pod does not exist")
        return pod

    async def _running_container(self, pod: Obj, container: str) -> str:
        meta = pod.get("metadata") or {}
        status = await self.manager.get_pod_status(str(meta.get("uid", "")), meta.get("name", ""),
                                                   meta.get("namespace", ""))
        found = next((c for c in status.running() if c.name == container), None)
        if found is None:
            raise StreamRefused(500, f'container not found ("{container}")')
        return found.id

    async def exec_url(self, namespace: str, name: str, container: str, command: list[str], *, stdin: bool,
                       stdout: bool, stderr: bool, tty: bool) -> str:
        container_id = await self._running_container(self._pod(namespace, name), container)
        request = ri.ExecRequest(container_id, command, tty=tty, stdin=stdin, stdout=stdout, stderr=stderr)
        return await self._url(self.runtime.exec(request))

    async def attach_url(self, namespace: str, name: str, container: str, *, stdin: bool, stdout: bool,
                         stderr: bool) -> tuple[str, bool]:
        pod = self._pod(namespace, name)
        container_id = await self._running_container(pod, container)
        tty = bool(_spec_of(pod, container).get("tty"))
        url = await self._url(self.runtime.attach(container_id, stdin=stdin, tty=tty, stdout=stdout, stderr=stderr))
        return url, tty

    def check_pod(self, namespace: str, name: str) -> None:
        self._pod(namespace, name)

    async def port_forward_url(self, namespace: str, name: str, port: int) -> str:
        pod = self._pod(namespace, name)
        meta = pod.get("metadata") or {}
        status = await self.manager.get_pod_status(str(meta.get("uid", "")), name, namespace)
        ready = [s for s in status.sandboxes if s.state == ri.SandboxState.READY]
        if not ready:
            raise StreamRefused(500, f'pod not found ("{name}_{namespace}")')
        return await self._url(self.runtime.port_forward(ready[0].id, [port]))

    @staticmethod
    async def _url(call: Any) -> str:
        try:
            return str(await call)
        except ri.RuntimeServiceError as exc:
            raise StreamRefused(500, str(exc)) from exc


def _spec_of(pod: Obj, container: str) -> Obj:
    spec = pod.get("spec") or {}
    every = [*(spec.get("containers") or []), *(spec.get("initContainers") or []),
             *(spec.get("ephemeralContainers") or [])]
    return next((c for c in every if c.get("name") == container), {})
