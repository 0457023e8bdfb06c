"""retry_on_conflict against the fake server."""

from __future__ import annotations

import pytest
from client_fake_apiserver import FakeApiServer

from pyk8s.client import errors
from pyk8s.client.rest import Client
from pyk8s.client.tools.retry import retry_on_conflict
from pyk8s.machinery.scheme import SCHEME

CM = SCHEME.get("", "v1", "configmaps")


async def test_retries_conflicts_with_fresh_reads(client: Client, fake_server: FakeApiServer) -> None:
    await client.create(CM, {"metadata": {"name": "c", "namespace": "default"}, "data": {"n": "0"}})
    attempts = 0

    async def bump() -> dict:
        nonlocal attempts
        attempts += 1
        obj = await client.get(CM, "c", namespace="default")
        if attempts < 3:  # someone else writes in between
            await client.patch(CM, "c", {"data": {"other": str(attempts)}}, namespace="default")
        obj["data"]["n"] = str(int(obj["data"]["n"]) + 1)
        return await client.update(CM, obj)

    out = await retry_on_conflict(bump)
    assert attempts == 3 and out["data"]["n"] == "1" and out["data"]["other"] == "2"


async def test_gives_up_and_passes_other_errors(client: Client, fake_server: FakeApiServer) -> None:
    calls = 0

    async def always_conflict() -> None:
        nonlocal calls
        calls += 1
        raise errors.ApiError({"code": 409, "reason": "Conflict", "message": "stale"})

    with pytest.raises(errors.ApiError):
        await retry_on_conflict(always_conflict, steps=3, delay=0)
    assert calls == 3

    async def missing() -> None:
        await client.get(CM, "nope", namespace="default")

    with pytest.raises(errors.ApiError) as info:
        await retry_on_conflict(missing)
    assert errors.is_not_found(info.value)
