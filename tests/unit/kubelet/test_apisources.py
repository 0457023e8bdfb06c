"""APIObjectSource: identical GETs in flight at once share one request; each caller gets its own copy."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pyk8s.client.errors import ApiError
from pyk8s.kubelet.apisources import APIObjectSource
from pyk8s.kubelet.kuberuntime.sources import ObjectNotFound


class HeldClient:
    """A REST client whose GETs answer only when released, counting each request sent."""

    def __init__(self, objects: dict[str, dict[str, Any]]) -> None:
        self.objects = objects
        self.gets: list[tuple[str | None, str]] = []
        self.release = asyncio.Event()

    async def get(self, rt: Any, name: str, *, namespace: str | None = None) -> dict[str, Any]:
        self.gets.append((namespace, name))
        await self.release.wait()
        if name not in self.objects:
            raise ApiError({"code": 404, "reason": "NotFound", "message": f'configmaps "{name}" not found'})
        return {"metadata": {"name": name, "namespace": namespace}, "data": dict(self.objects[name])}


async def _until(cond: Any) -> None:
    for _ in range(10_000):
        if cond():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


async def test_concurrent_identical_gets_share_one_request() -> None:
    client = HeldClient({"kube-root-ca.crt": {"ca.crt": "CERT"}})
    source = APIObjectSource(client, services=None)  # type: ignore[arg-type]
    waiters = [asyncio.create_task(source.get_configmap("default", "kube-root-ca.crt")) for _ in range(5)]
    other_ns = asyncio.create_task(source.get_configmap("other", "kube-root-ca.crt"))
    await _until(lambda: len(client.gets) >= 2)
    for _ in range(100):
        await asyncio.sleep(0)
    assert sorted(client.gets, key=str) == [("default", "kube-root-ca.crt"), ("other", "kube-root-ca.crt")]
    client.release.set()
    answers = await asyncio.gather(*waiters, other_ns)
    assert all(a["data"] == {"ca.crt": "CERT"} for a in answers)
    answers[0]["data"]["ca.crt"] = "changed by one caller"
    assert answers[1]["data"] == {"ca.crt": "CERT"}  # copies, as separate GETs would give
    # Once answered, the next read is a new GET: nothing is cached.
    assert (await source.get_configmap("default", "kube-root-ca.crt"))["data"] == {"ca.crt": "CERT"}
    assert len(client.gets) == 3


async def test_shared_not_found_and_cancellation() -> None:
    client = HeldClient({})
    source = APIObjectSource(client, services=None)  # type: ignore[arg-type]
    first = asyncio.create_task(source.get_configmap("default", "missing"))
    second = asyncio.create_task(source.get_configmap("default", "missing"))
    await _until(lambda: len(client.gets) == 1)
    first.cancel()  # one pod gone mid-sync: the other's GET goes on
    client.release.set()
    with pytest.raises(ObjectNotFound, match='configmap "missing" not found'):
        await second
    assert first.cancelled() and len(client.gets) == 1
