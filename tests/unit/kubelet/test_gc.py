"""Container and image garbage collection over the fake runtime."""

from __future__ import annotations

from pyk8s.kubelet.gc import GarbageCollector, GCPolicy, policy_errors
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


class _Filling(FakeRuntime):
    """An image filesystem whose usage is 10 points per image held."""

    async def image_fs_info(self) -> list[ri.FilesystemUsage]:
        return [ri.FilesystemUsage("/fake", 0, 0, 0)]


class _GC(GarbageCollector):
    async def _usage_percent(self) -> int | None:
        return 10 * len(await self.images.list_images())


NGINX, PERL, DNS = "docker.io/library/nginx:1.24", "docker.io/library/perl:5", "docker.io/library/dnsutils:latest"


async def test_images_go_least_recently_used_first_until_the_low_threshold() -> None:
    runtime = _Filling(images={NGINX, PERL, DNS, "registry.k8s.io/pause:3.9"})  # 40 %
    gc = _GC(runtime, runtime, policy=GCPolicy(high_percent=35, low_percent=25, min_image_age=0))
    ids = {img.repo_tags[0]: img.id for img in await runtime.list_images()}
    await gc._detect(100.0)
    gc.records[ids[PERL]].last_used = 50.0  # perl used longest ago, then dnsutils, nginx most recently
    gc.records[ids[DNS]].last_used = 60.0
    gc.records[ids[NGINX]].last_used = 70.0
    removed = await gc.collect_images()
    assert removed == [ids[PERL], ids[DNS]]  # 40 -> 30 -> 20 %: below the low threshold, nginx stays
    assert {img.repo_tags[0] for img in await runtime.list_images()} == {NGINX, "registry.k8s.io/pause:3.9"}


async def test_an_image_seen_too_recently_stays() -> None:
    runtime = _Filling(images={NGINX, "registry.k8s.io/pause:3.9"})
    gc = _GC(runtime, runtime, policy=GCPolicy(high_percent=0, low_percent=0, min_image_age=120))
    assert await gc.collect_images() == []  # first seen now: it may be about to start a container
    for record in gc.records.values():
        record.first_detected -= 121
    assert len(await gc.collect_images()) == 1  # nginx; never the pause image


async def test_the_dead_container_limits() -> None:
    runtime = FakeRuntime()
    sandbox, config = await start_pod(runtime)  # type: ignore[misc]
    dead = []
    for attempt in range(3):
        cid = await instance(runtime, sandbox, config, attempt)
        runtime.exit_container(cid, 1)
        dead.append(cid)
    none_kept = GarbageCollector(runtime, runtime, policy=GCPolicy(max_per_pod_container=0))
    assert await GarbageCollector(runtime, runtime, policy=GCPolicy(max_per_pod_container=-1)).collect_containers() == []
    capped = GarbageCollector(runtime, runtime, policy=GCPolicy(max_per_pod_container=-1, max_containers=1))
    assert sorted(await capped.collect_containers()) == dead[:2]  # the oldest go, the newest stays
    assert await none_kept.collect_containers() == dead[2:]


def test_policy_validation_is_worded_as_upstream() -> None:
    assert policy_errors(GCPolicy()) == []
    assert policy_errors(GCPolicy(high_percent=101, low_percent=80)) == [
        "invalid configuration: imageGCHighThresholdPercent (--image-gc-high-threshold) 101 must be between 0 and "
        "100, inclusive"]
    assert policy_errors(GCPolicy(high_percent=80, low_percent=80)) == [
        "invalid configuration: imageGCLowThresholdPercent (--image-gc-low-threshold) 80 must be less than "
        "imageGCHighThresholdPercent (--image-gc-high-threshold) 80"]
