"""Eviction against disruption budgets: 429 with upstream's message and cause, spending a disruption
(disruptedPods), free evictions (no budget, pending pods, unready pods of a healthy budget), several
budgets, dry runs."""

from typing import Any

import pytest

from pyk8s.apiserver.registry import Registry
from pyk8s.apiserver.registry.core import eviction
from pyk8s.apiserver.registry.rest import DeleteOptions, WriteOptions
from pyk8s.machinery.errors import StatusError

from .helpers import store


async def running_pod(registry: Registry, name: str, *, ready: bool = True, phase: str = "Running") -> None:
    pods = store(registry, "", "pods")
    created = await pods.create("default", {"metadata": {"name": name, "labels": {"app": "web"}},
                                            "spec": {"containers": [{"name": "c", "image": "nginx"}]}},
                                WriteOptions())
    created["status"] = {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    await pods.update("default", name, created, WriteOptions(), subresource="status")


async def budget(registry: Registry, name: str = "b", **status: Any) -> None:
    pdbs = store(registry, "policy", "poddisruptionbudgets")
    created = await pdbs.create("default", {"metadata": {"name": name}, "spec": {
        "minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}}, WriteOptions())
    created["status"] = {"observedGeneration": 1, "disruptionsAllowed": 0, "currentHealthy": 1,
                         "desiredHealthy": 1, "expectedPods": 1, **status}
    await pdbs.update("default", name, created, WriteOptions(), subresource="status")


async def evict(registry: Registry, name: str, **opts: Any) -> None:
    await eviction.evict(store(registry, "", "pods"), store(registry, "policy", "poddisruptionbudgets"),
                         "default", name, DeleteOptions(**opts))


async def exists(registry: Registry, name: str) -> bool:
    try:
        await store(registry, "", "pods").get("default", name)
    except StatusError:
        return False
    return True


async def test_budget_allowing_nothing_refuses_with_429(registry: Registry) -> None:
    await running_pod(registry, "p")
    await budget(registry)
    with pytest.raises(StatusError) as exc:
        await evict(registry, "p")
    status = exc.value.to_status()
    assert status["code"] == 429 and status["reason"] == "TooManyRequests"
    assert status["message"] == "Cannot evict pod as it would violate the pod's disruption budget."
    assert status["details"]["causes"] == [{"reason": "DisruptionBudget",
                                            "message": "The disruption budget b needs 1 healthy pods and has 1 "
                                                       "currently"}]
    assert await exists(registry, "p")


async def test_allowed_eviction_spends_the_budget(registry: Registry) -> None:
    await running_pod(registry, "p")
    await budget(registry, disruptionsAllowed=1, currentHealthy=2)
    await evict(registry, "p")
    assert not await exists(registry, "p")
    status = (await store(registry, "policy", "poddisruptionbudgets").get("default", "b"))["status"]
    assert status["disruptionsAllowed"] == 0 and list(status["disruptedPods"]) == ["p"]
    assert status["conditions"][0]["reason"] == "InsufficientPods"


async def test_dry_run_changes_nothing(registry: Registry) -> None:
    await running_pod(registry, "p")
    await budget(registry, disruptionsAllowed=1, currentHealthy=2)
    await evict(registry, "p", dry_run=True)
    assert await exists(registry, "p")
    status = (await store(registry, "policy", "poddisruptionbudgets").get("default", "b"))["status"]
    assert status["disruptionsAllowed"] == 1 and "disruptedPods" not in status


async def test_free_evictions(registry: Registry) -> None:
    await running_pod(registry, "pending", phase="Pending")
    await running_pod(registry, "unready", ready=False)
    await budget(registry)  # healthy: 1 of 1 desired
    await evict(registry, "pending")
    await evict(registry, "unready")
    assert not await exists(registry, "pending") and not await exists(registry, "unready")


async def test_stale_budget_and_several_budgets(registry: Registry) -> None:
    await running_pod(registry, "p")
    await budget(registry, observedGeneration=0, disruptionsAllowed=5)
    with pytest.raises(StatusError) as exc:
        await evict(registry, "p")
    assert exc.value.code == 429 and exc.value.retry_after_seconds == 10
    assert exc.value.causes[0].message == "The disruption budget b is still being processed by the server."
    await budget(registry, "second", disruptionsAllowed=5)
    with pytest.raises(StatusError) as exc:
        await evict(registry, "p")
    assert exc.value.code == 500
    assert exc.value.message == ("This pod has more than one PodDisruptionBudget, which the eviction subresource "
                                 "does not support.")
