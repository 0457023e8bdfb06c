"""Cache accounting, assumed pods and incremental snapshots; resource math."""

from __future__ import annotations

from pyk8s.scheduler import resources
from pyk8s.scheduler.cache import Cache, Snapshot
from pyk8s.testing.fake_clock import FakeClock

from .builders import node, pod


def test_pod_requests_sum_max_init_and_overhead() -> None:
    p = pod("p")
    p["spec"]["containers"] = [
        {"name": "a", "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}}},
        {"name": "b", "resources": {"limits": {"cpu": "1", "memory": "128Mi"}}},
    ]
    p["spec"]["initContainers"] = [{"name": "i", "resources": {"requests": {"cpu": "2"}}}]
    p["spec"]["overhead"] = {"cpu": "100m"}
    req = resources.pod_requests(p)
    assert req == {"cpu": 2100, "memory": 192 * 1024 * 1024}
    assert resources.non_zero_requests(pod("empty")) == (100, 200 * 1024 * 1024)


def test_non_zero_requests_count_sidecars_as_pod_requests_does() -> None:
    # Upstream scores with PodRequests + NonMissingContainerRequests: a sidecar (restartable init
    # container) runs beside the app, so its default 100m / 200Mi adds up with the app's.  The old
    # copy took the larger of the containers and the init containers instead (100m / 200Mi).
    p = pod("p")
    p["spec"]["containers"] = [{"name": "app"}]
    p["spec"]["initContainers"] = [{"name": "proxy", "restartPolicy": "Always"}, {"name": "setup"}]
    assert resources.non_zero_requests(p) == (200, 400 * 1024 * 1024)


def test_assume_confirm_forget_and_expire() -> None:
    clock = FakeClock()
    cache = Cache(clock=clock, assumed_ttl=30)
    cache.add_node(node("a", cpu="2"))
    p = pod("p", cpu="1", node_name="a")
    cache.assume_pod(p)
    info = cache.node_info("a")
    assert info is not None and info.requested == {"cpu": 1000, "pods": 1}
    cache.forget_pod(p)
    assert info.requested == {"cpu": 0, "pods": 0} and not cache.is_assumed(p)
    cache.assume_pod(p)
    cache.finish_binding(p)
    clock.step(29)
    assert cache.cleanup_expired() == []
    clock.step(2)
    assert cache.cleanup_expired() == [p["metadata"]["uid"]]
    assert info.pods == []
    # The informer's add event confirms an assumed pod instead of double counting it.
    cache.assume_pod(p)
    cache.add_pod(p)
    assert not cache.is_assumed(p) and info.requested["pods"] == 1


def test_snapshot_clones_only_changed_nodes() -> None:
    cache = Cache()
    for i in range(3):
        cache.add_node(node(f"n{i}"))
    snap = cache.update_snapshot(Snapshot())
    before = {n.name: n for n in snap.node_infos}
    cache.add_pod(pod("p", cpu="1", node_name="n1"))
    snap = cache.update_snapshot(snap)
    after = {n.name: n for n in snap.node_infos}
    assert after["n0"] is before["n0"] and after["n2"] is before["n2"]
    assert after["n1"] is not before["n1"] and after["n1"].requested["cpu"] == 1000
    assert before["n1"].requested.get("cpu", 0) == 0  # the old snapshot was not mutated
    cache.remove_node("n2")
    snap = cache.update_snapshot(snap)
    assert [n.name for n in snap.node_infos] == ["n0", "n1"]


def test_ports_freed_when_pod_removed() -> None:
    cache = Cache()
    cache.add_node(node("a"))
    p = pod("p", node_name="a")
    p["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "hostPort": 80}]
    cache.add_pod(p)
    info = cache.node_info("a")
    assert info is not None and info.used_ports == {("0.0.0.0", "TCP", 80)}
    cache.remove_pod(p)
    assert info.used_ports == set()
