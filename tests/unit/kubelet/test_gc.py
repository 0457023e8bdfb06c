"""Container and image garbage collection over the fake runtime."""

from __future__ import annotations

from pyk8s.kubelet.gc import GarbageCollector, GCPolicy
from pyk8s.kubelet.kuberuntime import labels
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.testing.fake_runtime import FakeRuntime

UID = "pod-uid"


async def start_pod(runtime: FakeRuntime) -> str:
    meta = ri.PodSandboxMetadata("web", "default", UID, 0)
    config = ri.PodSandboxConfig(metadata=meta, labels={labels.POD_UID: UID})
    return await runtime.run_pod_sandbox(config), config  # type: ignore[return-value]


async def instance(runtime: FakeRuntime, sandbox: str, config: ri.PodSandboxConfig, attempt: int) -> str:
    cid = await runtime.create_container(sandbox, ri.ContainerConfig(
        metadata=ri.ContainerMetadata("app", attempt), image="docker.io/library/busybox:1.36",
        labels={labels.POD_UID: UID, labels.CONTAINER_NAME: "app"}), config)
    await runtime.start_container(cid)
    return cid


async def test_only_the_newest_dead_instance_stays() -> None:
    runtime = FakeRuntime()
    sandbox, config = await start_pod(runtime)  # type: ignore[misc]
    first = await instance(runtime, sandbox, config, 0)
    runtime.exit_container(first, 1)
    second = await instance(runtime, sandbox, config, 1)
    runtime.exit_container(second, 1)
    third = await instance(runtime, sandbox, config, 2)
    removed = await GarbageCollector(runtime, runtime).collect_containers()
    assert removed == [first]
    left = {c.id for c in await runtime.list_containers()}
    assert left == {second, third}


async def test_images_are_not_collected_below_the_threshold() -> None:
    runtime = FakeRuntime()
    gc = GarbageCollector(runtime, runtime, policy=GCPolicy(high_percent=101))
    assert await gc.collect_images() == []


async def test_unused_images_go_largest_first_but_used_and_kept_ones_stay(tmp_path) -> None:  # type: ignore[no-untyped-def]
    class OnDisk(FakeRuntime):
        async def image_fs_info(self) -> list[ri.FilesystemUsage]:
            return [ri.FilesystemUsage(str(tmp_path), 0, 0, 0)]

    runtime = OnDisk(images={"docker.io/library/busybox:1.36", "registry.k8s.io/pause:3.9",
                             "docker.io/library/nginx:1.24"})
    sandbox, config = await start_pod(runtime)  # type: ignore[misc]
    await instance(runtime, sandbox, config, 0)  # uses busybox
    gc = GarbageCollector(runtime, runtime, policy=GCPolicy(high_percent=0, low_percent=0, min_image_age=0,
                                                            keep_images=("registry.k8s.io/pause:3.9",)))
    await gc.collect_images()
    assert {img.repo_tags[0] for img in await runtime.list_images()} == {"docker.io/library/busybox:1.36",
                                                                        "registry.k8s.io/pause:3.9"}
