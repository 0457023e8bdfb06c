"""The pod as the runtime sees it (upstream ``kubecontainer.PodStatus``), read back from CRI.

``read_pod_status`` lists the pod's sandboxes and containers by the
``io.kubernetes.pod.uid`` label, newest first, and decodes each container's
labels and annotations (name, spec hash, restart count).  The pod IPs come
from the newest sandbox while it is ready.  An exited container's
termination message is read from the file mounted at its
``terminationMessagePath`` (at most 4096 bytes); with
``FallbackToLogsOnError`` and a failure with no message, from the last 80
lines (2048 bytes) of its log.

This is input for two consumers: ``podactions`` decides what to do from it,
and the status module turns it into v1 ``containerStatuses``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyk8s.kubelet.kuberuntime import labels
from pyk8s.kubelet.runtime import interface as ri

MAX_MESSAGE = 4096
MAX_LOG_MESSAGE = 2048
MAX_LOG_LINES = 80


@dataclass
class ContainerStatus:
    """One container instance: CRI's status plus what the kubelet stored on it."""

    id: str
    name: str
    state: ri.ContainerState
    created_at: int  # ns since the epoch, as CRI
    started_at: int = 0
    finished_at: int = 0
    exit_code: int = 0
    reason: str = ""
    message: str = ""
    image: str = ""
    image_ref: str = ""
    hash: str = ""
    restart_count: int = 0
    sandbox_id: str = ""
    info: labels.ContainerInfo | None = None


@dataclass
class PodStatus:
    uid: str
    name: str = ""
    namespace: str = ""
    sandboxes: list[ri.PodSandbox] = field(default_factory=list)  # newest first
    containers: list[ContainerStatus] = field(default_factory=list)  # newest first
    ips: list[str] = field(default_factory=list)

    def find(self, name: str) -> ContainerStatus | None:
        """The newest instance of the container called ``name``."""
        return next((c for c in self.containers if c.name == name), None)

    def running(self) -> list[ContainerStatus]:
        return [c for c in self.containers if c.state == ri.ContainerState.RUNNING]


def _cri_log_tail(path: str) -> str:
    """The message part of the last lines of a CRI-format log (``<time> <stream> <P|F> <text>``)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            raw = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    parts: list[str] = []
    for line in raw.splitlines()[-MAX_LOG_LINES:]:
        fields = line.split(" ", 3)
        if len(fields) == 4:
            parts.append(fields[3] + ("" if fields[2] == "P" else "\n"))
    text = "".join(parts)
    return text[-MAX_LOG_MESSAGE:]


def termination_message(status: ri.ContainerStatus, info: labels.ContainerInfo) -> str:
    message = ""
    for mount in status.mounts:
        if info.termination_message_path and mount.container_path == info.termination_message_path:
            try:
                with open(mount.host_path, "rb") as f:
                    message = f.read(MAX_MESSAGE).decode("utf-8", "replace")
            except OSError:
                message = ""
            break
    if not message and info.termination_message_policy == "FallbackToLogsOnError" and status.exit_code != 0:
        message = _cri_log_tail(status.log_path)
    return message


def container_status(status: ri.ContainerStatus, sandbox_id: str) -> ContainerStatus:
    info = labels.container_info(status.labels, status.annotations)
    out = ContainerStatus(
        id=status.id, name=info.name or status.metadata.name, state=status.state, created_at=status.created_at,
        started_at=status.started_at, finished_at=status.finished_at, exit_code=status.exit_code,
        reason=status.reason, message=status.message, image=status.image, image_ref=status.image_ref,
        hash=info.hash, restart_count=info.restart_count, sandbox_id=sandbox_id, info=info,
    )
    if status.state == ri.ContainerState.EXITED:
        out.message = termination_message(status, info) or status.message
    return out


async def read_pod_status(runtime: ri.RuntimeService, uid: str, name: str = "", namespace: str = "") -> PodStatus:
    selector = {labels.POD_UID: uid}
    out = PodStatus(uid=uid, name=name, namespace=namespace)
    listed = await runtime.list_pod_sandbox(ri.PodSandboxFilter(label_selector=selector))
    for sandbox in sorted(listed, key=lambda s: (s.created_at, s.metadata.attempt), reverse=True):
        try:
            out.sandboxes.append(await runtime.pod_sandbox_status(sandbox.id))
        except ri.NotFoundError:
            continue
    if out.sandboxes and out.sandboxes[0].state == ri.SandboxState.READY and out.sandboxes[0].ip:
        out.ips = [out.sandboxes[0].ip, *out.sandboxes[0].additional_ips]
    containers = await runtime.list_containers(ri.ContainerFilter(label_selector=selector))
    # Ties (coarse clocks) go to the later attempt.
    for c in sorted(containers, key=lambda c: (c.created_at, c.metadata.attempt), reverse=True):
        try:
            out.containers.append(container_status(await runtime.container_status(c.id), c.pod_sandbox_id))
        except ri.NotFoundError:
            continue
    if not out.name and out.sandboxes:
        out.name, out.namespace = out.sandboxes[0].metadata.name, out.sandboxes[0].metadata.namespace
    return out
