"""The tmpfs size of a memory-backed emptyDir: sizeLimit, the pod's memory limit, the node's allocatable."""

from __future__ import annotations

from typing import Any

import pytest

from pyk8s.kubelet.volumes import emptydir

MI = 1024 * 1024


def _pod(*limits: str | None, init: str | None = None) -> dict[str, Any]:
    def ctr(limit: str | None) -> dict[str, Any]:
        return {"name": "c", "resources": {"limits": {"memory": limit}} if limit else {}}
    spec: dict[str, Any] = {"containers": [ctr(x) for x in limits]}
    if init is not None:
        spec["initContainers"] = [ctr(init)]
    return {"spec": spec}


@pytest.mark.parametrize(("pod", "source", "size"), [
    (_pod("64Mi"), {"sizeLimit": "4Mi"}, 4 * MI),                 # sizeLimit below the pod's limit
    (_pod("64Mi"), {}, 64 * MI),                                  # no sizeLimit: the pod's memory limit
    (_pod("16Mi", "32Mi"), {"sizeLimit": "1Gi"}, 48 * MI),        # a larger sizeLimit does not raise it
    (_pod("16Mi", None), {}, 1024 * MI),                          # a container without limit: node allocatable
    (_pod(None), {"sizeLimit": "2Gi"}, 1024 * MI),                # never above what the node has
    (_pod("8Mi", init="100Mi"), {}, 100 * MI),                    # an init step larger than the app containers
    (_pod(None), {"sizeLimit": "0"}, 1024 * MI),                  # zero bounds nothing
])
def test_memory_size(pod: dict[str, Any], source: dict[str, Any], size: int) -> None:
    assert emptydir.memory_size(pod, {"medium": "Memory", **source}, {"memory": "1Gi"}) == size


def test_without_known_allocatable_the_pod_bounds_it() -> None:
    assert emptydir.memory_size(_pod(None), {"medium": "Memory"}, {}) is None
    assert emptydir.memory_size(_pod("8Mi"), {"medium": "Memory", "sizeLimit": "4Mi"}, {}) == 4 * MI


def test_huge_pages_are_refused_with_a_reason() -> None:
    asking = {"spec": {"containers": [{"name": "c", "resources": {"limits": {"hugepages-2Mi": "4Mi"}}}]}}
    assert emptydir.huge_pages_refusal(_pod("8Mi")) == ("hugePages storage requested, but there is no resource "
                                                         "request for huge pages")
    assert emptydir.huge_pages_refusal(asking) == "hugePages storage is not supported by this kubelet"
