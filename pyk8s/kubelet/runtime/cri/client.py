"""``CRIClient``: RuntimeService and ImageService over the real CRI v1 gRPC API.

One grpc.aio channel to a unix socket (containerd's, or any CRI runtime given
by ``--runtime-endpoint``); every call carries a deadline.  gRPC errors become
the interface's exceptions: NOT_FOUND (or containerd's "not found" texts for
sandboxes and containers) -> NotFoundError, and pull failures are classified by
containerd's message into ImageNotFoundError / RegistryUnavailableError /
RegistryAuthError, since CRI itself has no error codes for them.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc
import grpc.aio

from pyk8s.kubelet.runtime import interface as ri
from pyk8s.kubelet.runtime.cri import convert
from pyk8s.kubelet.runtime.cri.generated import api_pb2 as pb
from pyk8s.kubelet.runtime.cri.generated import api_pb2_grpc as pb_grpc

T = TypeVar("T")
CRI_API_VERSION = "v1"

_AUTH = re.compile(r"401 Unauthorized|403 Forbidden|unauthorized|authorization failed|denied", re.I)
_UNAVAILABLE = re.compile(
    r"connection refused|no such host|i/o timeout|dial tcp|connection reset|server misbehaving|"
    r"failed to do request|no route to host|50[0-9] |EOF", re.I
)
_MISSING = re.compile(r"not found|manifest unknown|name unknown|404", re.I)


def classify_pull_error(image: str, message: str) -> ri.ImagePullError:
    """Maps containerd's pull error text (about ``image``) to one of the three pull failures; the message stays
    as the runtime gave it, which upstream's ErrImagePull events quote."""
    if _AUTH.search(message):
        return ri.RegistryAuthError(message)
    if _UNAVAILABLE.search(message):
        return ri.RegistryUnavailableError(message)
    if _MISSING.search(message):
        return ri.ImageNotFoundError(message)
    return ri.RegistryUnavailableError(message)


def _status_text(err: grpc.aio.AioRpcError) -> str:
    """Go's gRPC status text, which upstream's events quote (FailedCreatePodSandBox ...): code names CamelCase."""
    code = "Canceled" if err.code() == grpc.StatusCode.CANCELLED else err.code().name.title().replace("_", "")
    return f"rpc error: code = {code} desc = {err.details() or ''}"


def _translate(err: grpc.aio.AioRpcError) -> ri.RuntimeServiceError:
    details = err.details() or str(err.code())
    if err.code() == grpc.StatusCode.NOT_FOUND or re.search(r"not found|does not exist", details):
        return ri.NotFoundError(details)
    if err.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
        return ri.ExecTimeoutError(details) if "exec" in details.lower() else ri.RuntimeServiceError(details)
    return ri.RuntimeServiceError(_status_text(err))


class CRIClient:
    """Implements both ``RuntimeService`` and ``ImageService`` against a CRI socket."""

    def __init__(self, endpoint: str, *, timeout: float = 30.0) -> None:
        target = endpoint if endpoint.startswith("unix:") else f"unix://{endpoint}"
        self.endpoint = target
        self.timeout = timeout
        self._channel = grpc.aio.insecure_channel(
            target, options=[("grpc.max_receive_message_length", 32 * 1024 * 1024)]
        )
        self._rt = pb_grpc.RuntimeServiceStub(self._channel)
        self._img = pb_grpc.ImageServiceStub(self._channel)

    async def close(self) -> None:
        await self._channel.close()

    async def _call(self, fn: Callable[..., Awaitable[T]], req: object, deadline: float | None = None) -> T:
        try:
            return await fn(req, timeout=deadline or self.timeout)
        except grpc.aio.AioRpcError as err:
            raise _translate(err) from None

    # ------------------------------------------------------------------ runtime
    async def version(self) -> ri.VersionInfo:
        r = await self._call(self._rt.Version, pb.VersionRequest(version=CRI_API_VERSION))
        return ri.VersionInfo(r.version, r.runtime_name, r.runtime_version, r.runtime_api_version)

    async def status(self, verbose: bool = False) -> ri.RuntimeStatus:
        r = await self._call(self._rt.Status, pb.StatusRequest(verbose=verbose))
        conds = [ri.RuntimeCondition(c.type, c.status, c.reason, c.message) for c in r.status.conditions]
        return ri.RuntimeStatus(conds, dict(r.info))

    async def update_pod_cidr(self, pod_cidr: str) -> None:
        req = pb.UpdateRuntimeConfigRequest(runtime_config=pb.RuntimeConfig(network_config=pb.NetworkConfig(pod_cidr=pod_cidr)))
        await self._call(self._rt.UpdateRuntimeConfig, req)

    async def run_pod_sandbox(self, config: ri.PodSandboxConfig, runtime_handler: str = "") -> str:
        req = pb.RunPodSandboxRequest(config=convert.sandbox_config_to_pb(config), runtime_handler=runtime_handler)
        return (await self._call(self._rt.RunPodSandbox, req, deadline=max(self.timeout, 120))).pod_sandbox_id

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        await self._call(self._rt.StopPodSandbox, pb.StopPodSandboxRequest(pod_sandbox_id=sandbox_id), deadline=120)

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        await self._call(self._rt.RemovePodSandbox, pb.RemovePodSandboxRequest(pod_sandbox_id=sandbox_id), deadline=120)

    async def pod_sandbox_status(self, sandbox_id: str) -> ri.PodSandbox:
        r = await self._call(self._rt.PodSandboxStatus, pb.PodSandboxStatusRequest(pod_sandbox_id=sandbox_id))
        return convert.sandbox_status_from_pb(r.status)

    async def list_pod_sandbox(self, filter: ri.PodSandboxFilter | None = None) -> list[ri.PodSandbox]:
        r = await self._call(self._rt.ListPodSandbox, pb.ListPodSandboxRequest(filter=convert.sandbox_filter_to_pb(filter)))
        return [convert.sandbox_from_pb(i) for i in r.items]

    async def create_container(
        self, sandbox_id: str, config: ri.ContainerConfig, sandbox_config: ri.PodSandboxConfig
    ) -> str:
        req = pb.CreateContainerRequest(
            pod_sandbox_id=sandbox_id, config=convert.container_config_to_pb(config),
            sandbox_config=convert.sandbox_config_to_pb(sandbox_config),
        )
        return (await self._call(self._rt.CreateContainer, req)).container_id

    async def start_container(self, container_id: str) -> None:
        await self._call(self._rt.StartContainer, pb.StartContainerRequest(container_id=container_id))

    async def stop_container(self, container_id: str, timeout: int) -> None:  # noqa: ASYNC109 - CRI's grace period
        req = pb.StopContainerRequest(container_id=container_id, timeout=timeout)
        await self._call(self._rt.StopContainer, req, deadline=timeout + self.timeout)

    async def remove_container(self, container_id: str) -> None:
        await self._call(self._rt.RemoveContainer, pb.RemoveContainerRequest(container_id=container_id))

    async def list_containers(self, filter: ri.ContainerFilter | None = None) -> list[ri.Container]:
        r = await self._call(self._rt.ListContainers, pb.ListContainersRequest(filter=convert.container_filter_to_pb(filter)))
        return [convert.container_from_pb(c) for c in r.containers]

    async def container_status(self, container_id: str, verbose: bool = False) -> ri.ContainerStatus:
        r = await self._call(self._rt.ContainerStatus, pb.ContainerStatusRequest(container_id=container_id, verbose=verbose))
        return convert.container_status_from_pb(r.status, dict(r.info))

    async def container_stats(self, container_id: str) -> ri.ContainerStats:
        r = await self._call(self._rt.ContainerStats, pb.ContainerStatsRequest(container_id=container_id))
        return convert.stats_from_pb(r.stats)

    async def list_container_stats(self, filter: ri.ContainerStatsFilter | None = None) -> list[ri.ContainerStats]:
        f = None
        if filter is not None:
            f = pb.ContainerStatsFilter(id=filter.id, pod_sandbox_id=filter.pod_sandbox_id, label_selector=filter.label_selector)
        r = await self._call(self._rt.ListContainerStats, pb.ListContainerStatsRequest(filter=f))
        return [convert.stats_from_pb(s) for s in r.stats]

    async def reopen_container_log(self, container_id: str) -> None:
        await self._call(self._rt.ReopenContainerLog, pb.ReopenContainerLogRequest(container_id=container_id))

    async def exec_sync(self, container_id: str, cmd: list[str], timeout: int = 0) -> ri.ExecResult:  # noqa: ASYNC109
        req = pb.ExecSyncRequest(container_id=container_id, cmd=cmd, timeout=timeout)
        r = await self._call(self._rt.ExecSync, req, deadline=(timeout + self.timeout) if timeout else 3600)
        return ri.ExecResult(r.exit_code, r.stdout, r.stderr)

    async def exec(self, request: ri.ExecRequest) -> str:
        req = pb.ExecRequest(
            container_id=request.container_id, cmd=request.cmd, tty=request.tty, stdin=request.stdin,
            stdout=request.stdout, stderr=request.stderr and not request.tty,
        )
        return (await self._call(self._rt.Exec, req)).url

    async def attach(
        self, container_id: str, *, stdin: bool = False, tty: bool = False, stdout: bool = True, stderr: bool = True
    ) -> str:
        req = pb.AttachRequest(container_id=container_id, stdin=stdin, tty=tty, stdout=stdout, stderr=stderr and not tty)
        return (await self._call(self._rt.Attach, req)).url

    async def port_forward(self, sandbox_id: str, ports: list[int]) -> str:
        return (await self._call(self._rt.PortForward, pb.PortForwardRequest(pod_sandbox_id=sandbox_id, port=ports))).url

    # ------------------------------------------------------------------ images
    async def pull_image(
        self, image: str, auth: ri.AuthConfig | None = None, sandbox_config: ri.PodSandboxConfig | None = None
    ) -> str:
        req = pb.PullImageRequest(image=pb.ImageSpec(image=image))
        if auth is not None:
            req.auth.CopyFrom(pb.AuthConfig(**auth.__dict__))
        if sandbox_config is not None:
            req.sandbox_config.CopyFrom(convert.sandbox_config_to_pb(sandbox_config))
        try:
            r = await self._img.PullImage(req, timeout=max(self.timeout, 300))
        except grpc.aio.AioRpcError as err:
            raise classify_pull_error(image, _status_text(err)) from None
        return r.image_ref

    async def image_status(self, image: str) -> ri.Image | None:
        r = await self._call(self._img.ImageStatus, pb.ImageStatusRequest(image=pb.ImageSpec(image=image)))
        return convert.image_from_pb(r.image) if r.HasField("image") and r.image.id else None

    async def list_images(self, image: str = "") -> list[ri.Image]:
        f = pb.ImageFilter(image=pb.ImageSpec(image=image)) if image else None
        r = await self._call(self._img.ListImages, pb.ListImagesRequest(filter=f))
        return [convert.image_from_pb(i) for i in r.images]

    async def remove_image(self, image: str) -> None:
        await self._call(self._img.RemoveImage, pb.RemoveImageRequest(image=pb.ImageSpec(image=image)))

    async def image_fs_info(self) -> list[ri.FilesystemUsage]:
        r = await self._call(self._img.ImageFsInfo, pb.ImageFsInfoRequest())
        return [
            ri.FilesystemUsage(f.fs_id.mountpoint, f.used_bytes.value, f.inodes_used.value, f.timestamp)
            for f in r.image_filesystems
        ]
