"""Local ephemeral storage limits: upstream's order and messages, what is measured, who is never evicted."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest

from pyk8s.kubelet.eviction import localstorage as ls
from pyk8s.kubelet.status.manager import merge
from pyk8s.testing.fake_clock import FakeClock
from pyk8s.testing.fake_runtime import FakeRuntime

MI = 1024 * 1024


def _pod(name: str = "p", *, volumes: list | None = None, limits: dict[str, str] | None = None,
         containers: list | None = None, **meta: Any) -> dict:
    cs = containers or [{"name": "app", "resources": {"limits": limits} if limits else {}}]
    return {"metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}", **meta},
            "spec": {"containers": cs, "volumes": volumes or []}, "status": {"phase": "Running"}}


def test_empty_dir_above_its_size_limit() -> None:
    pod = _pod(volumes=[{"name": "cache", "emptyDir": {"sizeLimit": "2Mi"}}])
    assert ls.violation(pod, ls.PodUsage(volumes={"cache": 2 * MI})) is None  # at the limit is fine
    assert ls.violation(pod, ls.PodUsage(volumes={"cache": 2 * MI + 1})) == \
        'Usage of EmptyDir volume "cache" exceeds the limit "2Mi". '
    # The limit is printed as the API quantity, canonical.
    pod = _pod(volumes=[{"name": "c", "emptyDir": {"sizeLimit": "2048Ki"}}])
    assert ls.violation(pod, ls.PodUsage(volumes={"c": 3 * MI})) == 'Usage of EmptyDir volume "c" exceeds the limit "2Mi". '


def test_pod_total_counts_layers_logs_and_disk_empty_dirs() -> None:
    pod = _pod(limits={"ephemeral-storage": "4Mi"}, volumes=[{"name": "d", "emptyDir": {}},
                                                             {"name": "m", "emptyDir": {"medium": "Memory"}}])
    under = ls.PodUsage(volumes={"d": 1 * MI, "m": 10 * MI}, rootfs={"app": 1 * MI}, logs={"app": 1 * MI})
    assert ls.violation(pod, under) is None  # the memory-backed emptyDir is not disk
    over = ls.PodUsage(volumes={"d": 3 * MI}, rootfs={"app": 1 * MI}, logs={"app": 1})
    assert ls.violation(pod, over) == "Pod ephemeral local storage usage exceeds the total limit of containers 4Mi. "


def test_container_above_its_own_limit() -> None:
    pod = _pod(containers=[{"name": "a", "resources": {"limits": {"ephemeral-storage": "1Mi"}}},
                           {"name": "b", "resources": {"limits": {"ephemeral-storage": "10Mi"}}}])
    usage = ls.PodUsage(rootfs={"a": MI}, logs={"a": MI})
    assert ls.violation(pod, usage) == 'Container a exceeded its local ephemeral storage limit "1Mi". '


def test_empty_dir_is_checked_before_the_pod_total() -> None:
    pod = _pod(limits={"ephemeral-storage": "1Mi"}, volumes=[{"name": "d", "emptyDir": {"sizeLimit": "1Mi"}}])
    assert ls.violation(pod, ls.PodUsage(volumes={"d": 5 * MI})) == \
        'Usage of EmptyDir volume "d" exceeds the limit "1Mi". '


@pytest.mark.parametrize("meta", [{"annotations": {"kubernetes.io/config.source": "file"}},
                                  {"annotations": {"kubernetes.io/config.mirror": "abc"}}])
def test_static_pods_are_critical(meta: dict) -> None:
    assert ls.is_critical(_pod(**meta))


def test_system_critical_priority() -> None:
    pod = _pod()
    pod["spec"]["priority"] = 2_000_000_000
    assert ls.is_critical(pod) and not ls.is_critical(_pod())


def test_disk_usage_counts_allocated_blocks(tmp_path: pathlib.Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "big").write_bytes(b"x" * (3 * MI))
    (tmp_path / "sparse").touch()
    with open(tmp_path / "sparse", "r+b") as f:
        f.truncate(100 * MI)  # a hole: nothing allocated
    os_link = tmp_path / "link"
    os_link.hardlink_to(tmp_path / "sub" / "big")  # counted once
    used = ls.disk_usage(tmp_path)
    assert 3 * MI <= used < 4 * MI
    assert ls.disk_usage(tmp_path / "absent") == 0


class _Recorder:
    def __init__(self) -> None:
        self.evicted: list[tuple[str, str]] = []

    async def __call__(self, pod: dict, message: str) -> None:
        self.evicted.append((pod["metadata"]["name"], message))


async def test_check_evicts_each_pod_once(tmp_path: pathlib.Path) -> None:
    def volume_dir(uid: str, name: str) -> pathlib.Path:
        return tmp_path / uid / name

    def logs_dir(pod: dict) -> pathlib.Path:
        return tmp_path / "logs" / pod["metadata"]["uid"]

    over = _pod("over", volumes=[{"name": "c", "emptyDir": {"sizeLimit": "1Mi"}}])
    logged = _pod("logged", containers=[{"name": "a", "resources": {"limits": {"ephemeral-storage": "1Mi"}}},
                                        {"name": "b", "resources": {"limits": {"ephemeral-storage": "8Mi"}}}])
    under = _pod("under", volumes=[{"name": "c", "emptyDir": {"sizeLimit": "8Mi"}}])
    done = _pod("done", volumes=[{"name": "c", "emptyDir": {"sizeLimit": "1Mi"}}])
    done["status"]["phase"] = "Failed"
    static = _pod("static", volumes=[{"name": "c", "emptyDir": {"sizeLimit": "1Mi"}}],
                  annotations={"kubernetes.io/config.source": "file"})
    for pod in (over, under, done, static):
        d = volume_dir(pod["metadata"]["uid"], "c")
        d.mkdir(parents=True)
        (d / "data").write_bytes(b"x" * 2 * MI)
    (logs_dir(logged) / "a").mkdir(parents=True)
    (logs_dir(logged) / "a" / "0.log").write_bytes(b"x" * 2 * MI)
    recorder = _Recorder()
    check = ls.LocalStorageEviction(lambda: [over, logged, under, done, static], FakeRuntime(), volume_dir,
                                    logs_dir, recorder, clock=FakeClock())
    assert sorted(await check.check()) == ["uid-logged", "uid-over"]
    assert sorted(recorder.evicted) == [
        ("logged", 'Container a exceeded its local ephemeral storage limit "1Mi". '),
        ("over", 'Usage of EmptyDir volume "c" exceeds the limit "1Mi". ')]
    assert await check.check() == []  # not twice


def test_status_keeps_the_reason_of_its_phase() -> None:
    """The kubelet's later reports of an evicted pod (no reason of their own) keep Evicted and its message."""
    pod = {"status": {"phase": "Failed", "reason": "Evicted", "message": "m. ", "conditions": []}}
    assert merge(pod, {"phase": "Failed", "conditions": []}, "now") == \
        {"phase": "Failed", "reason": "Evicted", "message": "m. ", "conditions": []}
    running = {"status": {"phase": "Pending", "reason": "R", "conditions": []}}
    assert "reason" not in merge(running, {"phase": "Running", "conditions": []}, "now")
