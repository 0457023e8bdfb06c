"""The shipped FakeRuntime honours the interface contracts the kubelet relies on."""

from __future__ import annotations

import pytest

from pyk8s.kubelet.runtime import interface as ri
from pyk8s.testing.fake_runtime import FakeRuntime


async def test_lifecycle_and_scripting() -> None:
    rt = FakeRuntime()
    assert isinstance(rt, ri.RuntimeService) and isinstance(rt, ri.ImageService)
    sc = ri.PodSandboxConfig(metadata=ri.PodSandboxMetadata(name="p", uid="u"), log_directory="/logs")
    sid = await rt.run_pod_sandbox(sc)
    assert (await rt.pod_sandbox_status(sid)).ip.startswith("10.244.")
    cfg = ri.ContainerConfig(metadata=ri.ContainerMetadata(name="c"), image="docker.io/library/busybox:1.36",
                             log_path="c/0.log", annotations={ri.RESTART_COUNT_ANNOTATION: "2"})
    cid = await rt.create_container(sid, cfg, sc)
    await rt.start_container(cid)
    status = await rt.container_status(cid)
    assert status.state == ri.ContainerState.RUNNING and status.restart_count == 2 and status.log_path == "/logs/c/0.log"
    rt.exit_container(cid, 1)
    status = await rt.container_status(cid)
    assert (status.state, status.exit_code, status.reason) == (ri.ContainerState.EXITED, 1, "Error")
    running = await rt.list_containers(ri.ContainerFilter(state=ri.ContainerState.RUNNING))
    assert running == []

    rt.pull_errors["docker.io/library/nope:1"] = ri.ImageNotFoundError("nope")
    with pytest.raises(ri.ImageNotFoundError):
        await rt.pull_image("docker.io/library/nope:1")
    await rt.pull_image("docker.io/library/nginx:1.24")
    assert await rt.image_status("docker.io/library/nginx:1.24") is not None

    rt.fail_next["start_container"] = ri.RuntimeServiceError("boom")
    cid2 = await rt.create_container(sid, cfg, sc)
    with pytest.raises(ri.RuntimeServiceError):
        await rt.start_container(cid2)
    await rt.remove_pod_sandbox(sid)
    assert await rt.list_containers() == [] and ("remove_pod_sandbox", sid) in rt.calls
