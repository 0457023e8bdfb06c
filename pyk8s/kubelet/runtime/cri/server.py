"""Serve a Python runtime (the process runtime) over the real CRI v1 gRPC API.

This lets every CRI client work against the process fallback as well:
``pyk8s crictl``, our ``CRIClient``, and the kubelet configured with an
endpoint.  ``pyk8s runtime --runtime process`` runs it.  The servicers are
thin: they convert protobuf to our dataclasses, call the runtime, and map
``NotFoundError`` to NOT_FOUND, pull errors to UNKNOWN with a message the
client classifies the same way it classifies containerd's, and anything else
from ``RuntimeServiceError`` to UNKNOWN.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Awaitable
from typing import Any, Protocol, TypeVar

import grpc
import grpc.aio
import orjson

from pyk8s.kubelet.runtime import interface as ri
from pyk8s.kubelet.runtime.cri import convert
from pyk8s.kubelet.runtime.cri.generated import api_pb2 as pb
from pyk8s.kubelet.runtime.cri.generated import api_pb2_grpc as pb_grpc

T = TypeVar("T")


class Runtime(ri.RuntimeService, ri.ImageService, Protocol):
    """Both services in one object, as the process runtime and the fake provide."""


_PULL_TEXT = {
    ri.ImageNotFoundError: "not found",
    ri.RegistryUnavailableError: "connection refused",
    ri.RegistryAuthError: "401 Unauthorized",
}


async def _guard(context: grpc.aio.ServicerContext, call: Awaitable[T]) -> T:
    try:
        return await call
    except ri.NotFoundError as err:
        await context.abort(grpc.StatusCode.NOT_FOUND, str(err))
    except ri.ImagePullError as err:
        # Keep the client's classifier working: prefix the text it looks for.
        await context.abort(grpc.StatusCode.UNKNOWN, f"{_PULL_TEXT.get(type(err), '')}: {err}")
    except ri.RuntimeServiceError as err:
        await context.abort(grpc.StatusCode.UNKNOWN, str(err))
    raise AssertionError("unreachable")  # abort() raises


class RuntimeServicer(pb_grpc.RuntimeServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    async def Version(self, request: Any, context: Any) -> pb.VersionResponse:  # noqa: N802 - gRPC names
        v = await _guard(context, self.rt.version())
        return pb.VersionResponse(version=v.version, runtime_name=v.runtime_name, runtime_version=v.runtime_version,
                                  runtime_api_version=v.runtime_api_version)

    async def Status(self, request: Any, context: Any) -> pb.StatusResponse:  # noqa: N802
        st = await _guard(context, self.rt.status(request.verbose))
        conds = [pb.RuntimeCondition(type=c.type, status=c.status, reason=c.reason, message=c.message) for c in st.conditions]
        return pb.StatusResponse(status=pb.RuntimeStatus(conditions=conds), info=st.info)

    async def RunPodSandbox(self, request: Any, context: Any) -> pb.RunPodSandboxResponse:  # noqa: N802
        sid = await _guard(context, self.rt.run_pod_sandbox(convert.sandbox_config_from_pb(request.config), request.runtime_handler))
        return pb.RunPodSandboxResponse(pod_sandbox_id=sid)

    async def StopPodSandbox(self, request: Any, context: Any) -> pb.StopPodSandboxResponse:  # noqa: N802
        await _guard(context, self.rt.stop_pod_sandbox(request.pod_sandbox_id))
        return pb.StopPodSandboxResponse()

    async def RemovePodSandbox(self, request: Any, context: Any) -> pb.RemovePodSandboxResponse:  # noqa: N802
        await _guard(context, self.rt.remove_pod_sandbox(request.pod_sandbox_id))
        return pb.RemovePodSandboxResponse()

    async def PodSandboxStatus(self, request: Any, context: Any) -> pb.PodSandboxStatusResponse:  # noqa: N802
        s = await _guard(context, self.rt.pod_sandbox_status(request.pod_sandbox_id))
        return pb.PodSandboxStatusResponse(status=convert.sandbox_status_to_pb(s))

    async def ListPodSandbox(self, request: Any, context: Any) -> pb.ListPodSandboxResponse:  # noqa: N802
        f = convert.sandbox_filter_from_pb(request.filter if request.HasField("filter") else None)
        items = await _guard(context, self.rt.list_pod_sandbox(f))
        return pb.ListPodSandboxResponse(items=[convert.sandbox_to_pb(s) for s in items])

    async def CreateContainer(self, request: Any, context: Any) -> pb.CreateContainerResponse:  # noqa: N802
        cid = await _guard(context, self.rt.create_container(
            request.pod_sandbox_id, convert.container_config_from_pb(request.config),
            convert.sandbox_config_from_pb(request.sandbox_config),
        ))
        return pb.CreateContainerResponse(container_id=cid)

    async def StartContainer(self, request: Any, context: Any) -> pb.StartContainerResponse:  # noqa: N802
        await _guard(context, self.rt.start_container(request.container_id))
        return pb.StartContainerResponse()

    async def StopContainer(self, request: Any, context: Any) -> pb.StopContainerResponse:  # noqa: N802
        await _guard(context, self.rt.stop_container(request.container_id, request.timeout))
        return pb.StopContainerResponse()

    async def RemoveContainer(self, request: Any, context: Any) -> pb.RemoveContainerResponse:  # noqa: N802
        await _guard(context, self.rt.remove_container(request.container_id))
        return pb.RemoveContainerResponse()

    async def ListContainers(self, request: Any, context: Any) -> pb.ListContainersResponse:  # noqa: N802
        f = convert.container_filter_from_pb(request.filter if request.HasField("filter") else None)
        items = await _guard(context, self.rt.list_containers(f))
        return pb.ListContainersResponse(containers=[convert.container_to_pb(c) for c in items])

    async def ContainerStatus(self, request: Any, context: Any) -> pb.ContainerStatusResponse:  # noqa: N802
        st = await _guard(context, self.rt.container_status(request.container_id))
        info = {"info": orjson.dumps({"pid": st.pid}).decode()} if request.verbose else {}
        return pb.ContainerStatusResponse(status=convert.container_status_to_pb(st), info=info)

    async def ContainerStats(self, request: Any, context: Any) -> pb.ContainerStatsResponse:  # noqa: N802
        s = await _guard(context, self.rt.container_stats(request.container_id))
        return pb.ContainerStatsResponse(stats=convert.stats_to_pb(s))

    async def ListContainerStats(self, request: Any, context: Any) -> pb.ListContainerStatsResponse:  # noqa: N802
        f = request.filter
        flt = ri.ContainerStatsFilter(id=f.id, pod_sandbox_id=f.pod_sandbox_id, label_selector=dict(f.label_selector))
        items = await _guard(context, self.rt.list_container_stats(flt))
        return pb.ListContainerStatsResponse(stats=[convert.stats_to_pb(s) for s in items])

    async def ReopenContainerLog(self, request: Any, context: Any) -> pb.ReopenContainerLogResponse:  # noqa: N802
        await _guard(context, self.rt.reopen_container_log(request.container_id))
        return pb.ReopenContainerLogResponse()

    async def ExecSync(self, request: Any, context: Any) -> pb.ExecSyncResponse:  # noqa: N802
        r = await _guard(context, self.rt.exec_sync(request.container_id, list(request.cmd), request.timeout))
        return pb.ExecSyncResponse(stdout=r.stdout, stderr=r.stderr, exit_code=r.exit_code)

    async def Exec(self, request: Any, context: Any) -> pb.ExecResponse:  # noqa: N802
        req = ri.ExecRequest(request.container_id, list(request.cmd), request.tty, request.stdin, request.stdout, request.stderr)
        return pb.ExecResponse(url=await _guard(context, self.rt.exec(req)))

    async def Attach(self, request: Any, context: Any) -> pb.AttachResponse:  # noqa: N802
        url = await _guard(context, self.rt.attach(request.container_id, stdin=request.stdin, tty=request.tty))
        return pb.AttachResponse(url=url)

    async def PortForward(self, request: Any, context: Any) -> pb.PortForwardResponse:  # noqa: N802
        return pb.PortForwardResponse(url=await _guard(context, self.rt.port_forward(request.pod_sandbox_id, list(request.port))))

    async def UpdateRuntimeConfig(self, request: Any, context: Any) -> pb.UpdateRuntimeConfigResponse:  # noqa: N802
        return pb.UpdateRuntimeConfigResponse()


class ImageServicer(pb_grpc.ImageServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    async def PullImage(self, request: Any, context: Any) -> pb.PullImageResponse:  # noqa: N802
        return pb.PullImageResponse(image_ref=await _guard(context, self.rt.pull_image(request.image.image)))

    async def ImageStatus(self, request: Any, context: Any) -> pb.ImageStatusResponse:  # noqa: N802
        img = await _guard(context, self.rt.image_status(request.image.image))
        return pb.ImageStatusResponse(image=convert.image_to_pb(img)) if img else pb.ImageStatusResponse()

    async def ListImages(self, request: Any, context: Any) -> pb.ListImagesResponse:  # noqa: N802
        images = await _guard(context, self.rt.list_images(request.filter.image.image))
        return pb.ListImagesResponse(images=[convert.image_to_pb(i) for i in images])

    async def RemoveImage(self, request: Any, context: Any) -> pb.RemoveImageResponse:  # noqa: N802
        await _guard(context, self.rt.remove_image(request.image.image))
        return pb.RemoveImageResponse()

    async def ImageFsInfo(self, request: Any, context: Any) -> pb.ImageFsInfoResponse:  # noqa: N802
        usage = await _guard(context, self.rt.image_fs_info())
        return pb.ImageFsInfoResponse(image_filesystems=[
            pb.FilesystemUsage(timestamp=u.timestamp, fs_id=pb.FilesystemIdentifier(mountpoint=u.mountpoint),
                               used_bytes=pb.UInt64Value(value=u.used_bytes), inodes_used=pb.UInt64Value(value=u.inodes_used))
            for u in usage
        ])


def _prepare_socket(path: pathlib.Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        os.unlink(path)


async def serve(runtime: Runtime, socket_path: pathlib.Path) -> grpc.aio.Server:
    """Starts a CRI server on a unix socket; the caller stops it with ``await server.stop(grace)``."""
    _prepare_socket(socket_path)
    server = grpc.aio.server()
    pb_grpc.add_RuntimeServiceServicer_to_server(RuntimeServicer(runtime), server)
    pb_grpc.add_ImageServiceServicer_to_server(ImageServicer(runtime), server)
    server.add_insecure_port(f"unix://{socket_path}")
    await server.start()
    return server
