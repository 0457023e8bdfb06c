"""Pod requests as upstream's PodRequests: containers, init containers, sidecars, overhead."""

from __future__ import annotations

from pyk8s.api.core_v1.helpers.resources import container_requests, pod_requests


def c(name: str, cpu: str | None = None, memory: str | None = None, **extra: object) -> dict:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    return {"name": name, "resources": {"requests": requests}, **extra}


def test_containers_add_up_and_overhead_is_added() -> None:
    p = {"spec": {"containers": [c("a", "100m", "1Gi"), c("b", "1")], "overhead": {"cpu": "10m"}}}
    assert pod_requests(p) == {"cpu": 1110, "memory": 1 << 30}
    assert pod_requests(p, exclude_overhead=True) == {"cpu": 1100, "memory": 1 << 30}


def test_init_containers_count_by_their_peak() -> None:
    p = {"spec": {"containers": [c("a", "100m", "64Mi")],
                  "initContainers": [c("i1", "2", "32Mi"), c("i2", "50m", "128Mi")]}}
    assert pod_requests(p) == {"cpu": 2000, "memory": 128 << 20}


def test_sidecars_add_to_containers_and_to_later_init_steps() -> None:
    # Sidecar 500m keeps running: the app sums with it (600m) and the init container after it
    # runs next to it (500m + 1 = 1500m), which is the peak.
    p = {"spec": {"containers": [c("app", "100m")],
                  "initContainers": [c("side", "500m", restartPolicy="Always"), c("init", "1")]}}
    assert pod_requests(p) == {"cpu": 1500}
    p["spec"]["initContainers"].reverse()  # init first: it runs alone, the sidecar only with the app
    assert pod_requests(p) == {"cpu": 1000}


def test_limits_fill_missing_requests_and_non_missing_fills_the_rest() -> None:
    only_limit = {"name": "a", "resources": {"limits": {"cpu": "2", "memory": "1Gi"}, "requests": {"cpu": "1"}}}
    assert container_requests(only_limit) == {"cpu": 1000, "memory": 1 << 30}
    p = {"spec": {"containers": [c("a"), c("b", "300m")]}}
    assert pod_requests(p, non_missing={"cpu": 100, "memory": 200}) == {"cpu": 400, "memory": 400}
    assert pod_requests(p) == {"cpu": 300}
