"""ServiceAccounts controller: a default ServiceAccount per active namespace."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import pyk8s.api  # noqa: E402,F401
from pyk8s.controllers.serviceaccount import NAMESPACES, SERVICE_ACCOUNTS, ServiceAccountsController  # noqa: E402
from tests.unit.controllers.controller_env import Env, eventually, start_env, stop_env  # noqa: E402


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    e, tasks = await start_env(ServiceAccountsController)
    try:
        yield e
    finally:
        await stop_env(e, tasks)


async def test_default_account_created_and_recreated(env: Env) -> None:
    await env.client.create(NAMESPACES, {"metadata": {"name": "team"}, "status": {"phase": "Active"}})
    await eventually(lambda: env.obj("v1/serviceaccounts", "team", "default") is not None)
    await env.client.delete(SERVICE_ACCOUNTS, "default", namespace="team")
    await eventually(lambda: env.obj("v1/serviceaccounts", "team", "default") is not None)
    creates = [p for m, p, _, _ in env.srv.requests if m == "POST" and p.endswith("/serviceaccounts")]
    assert len(creates) == 2


async def test_terminating_namespace_gets_no_account(env: Env) -> None:
    await env.client.create(NAMESPACES, {"metadata": {"name": "old", "deletionTimestamp": "2026-01-01T00:00:00Z"},
                                         "status": {"phase": "Terminating"}})
    await env.client.create(NAMESPACES, {"metadata": {"name": "new"}})
    await eventually(lambda: env.obj("v1/serviceaccounts", "new", "default") is not None)
    assert env.obj("v1/serviceaccounts", "old", "default") is None
