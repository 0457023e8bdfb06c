"""Which file holds a container's log: the kubelet's ``LogSource``.

A container's log is ``<logs dir>/<ns>_<pod>_<uid>/<container>/<restart count>.log``,
the path the runtime manager gave the runtime; ``previous`` means the
instance before the newest.  Errors are worded as upstream's kubelet words
them (``container "x" in pod "y" is not available``, ``previous terminated
container "x" in pod "y" not found``).
"""

from __future__ import annotations

import pathlib
from typing import Any

from pyk8s.client.tools.lister import Lister
from pyk8s.kubelet.kuberuntime.manager import RuntimeManager
from pyk8s.kubelet.kuberuntime.podstatus import ContainerStatus
from pyk8s.kubelet.kuberuntime.sandbox import pod_logs_directory
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.kubelet.server.app import NotFound

Obj = dict[str, Any]


class PodLogs:
    def __init__(self, pods: Lister, manager: RuntimeManager) -> None:
        self.pods, self.manager = pods, manager

    async def _instances(self, namespace: str, pod_name: str, container: str) -> tuple[Obj, list[ContainerStatus]]:
        pod = self.pods.get(pod_name, namespace=namespace)
        if pod is None:
            raise NotFound(f'pod "{pod_name}" not found')
        status = await self.manager.get_pod_status(str(pod["metadata"].get("uid", "")), pod_name, namespace)
        return pod, [c for c in status.containers if c.name == container]

    async def log_path(self, namespace: str, pod: str, container: str, previous: bool) -> str:
        obj, instances = await self._instances(namespace, pod, container)
        wanted = instances[1:2] if previous else instances[:1]
        if not wanted:
            if previous:
                raise NotFound(f'previous terminated container "{container}" in pod "{pod}" not found')
            raise NotFound(f'container "{container}" in pod "{pod}" is not available')
        directory = pathlib.Path(pod_logs_directory(self.manager.settings, obj))
        return str(directory / container / f"{wanted[0].restart_count}.log")

    async def running(self, namespace: str, pod: str, container: str) -> bool:
        try:
            _, instances = await self._instances(namespace, pod, container)
        except NotFound:
            return False
        return bool(instances) and instances[0].state == ri.ContainerState.RUNNING
