"""The kubelet's projected ServiceAccount token against a real ``pyk8s server``, with the kubelet's clock injected.

A token of the minimum lifetime (600 s) cannot be watched being refreshed in an e2e test; here the volume
manager asks the real TokenRequest API, and a fake clock moves the kubelet past 80 % of the token's life:
the volume then holds a new token (swapped atomically under ``..data``) that TokenReview accepts for the
requested audience, while the old one is still valid until its expiry.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import os
import pathlib
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, cast

import pytest

import pyk8s.api  # noqa: F401  (fills the scheme)
from pyk8s.client.errors import ApiError
from pyk8s.client.rest import Client
from pyk8s.kubelet.apisources import APIObjectSource
from pyk8s.kubelet.volumes import manager as vm
from pyk8s.testing.cluster import ServerProcess
from pyk8s.testing.fake_clock import FakeClock

PODS = Client.resource("", "v1", "pods", namespaced=True)
SERVICE_ACCOUNTS = Client.resource("", "v1", "serviceaccounts", namespaced=True)
TOKEN_REVIEWS = Client.resource("authentication.k8s.io", "v1", "tokenreviews", namespaced=False)
AUDIENCE = "vault.example.com"
LIFETIME = 600


@pytest.fixture(scope="module")
def api_server() -> Iterator[ServerProcess]:
    with ServerProcess() as srv:
        yield srv


@pytest.fixture
async def client(api_server: ServerProcess) -> AsyncIterator[Client]:
    c = Client.from_kubeconfig(api_server.kubeconfig, field_manager="kubelet-volumes-it")
    try:
        yield c
    finally:
        await c.close()


async def _default_account(client: Client) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            await client.get(SERVICE_ACCOUNTS, "default", namespace="default")
            return
        except ApiError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


def _claims(token: str) -> dict[str, Any]:
    body = token.split(".")[1]
    return cast(dict[str, Any], json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))


async def _accepted(client: Client, token: str) -> bool:
    review = await client.create(TOKEN_REVIEWS, {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                                                 "spec": {"token": token, "audiences": [AUDIENCE]}})
    status = review.get("status") or {}
    return bool(status.get("authenticated")) and status.get("audiences") == [AUDIENCE]


async def test_projected_token_is_refreshed_at_80_percent_of_its_life(client: Client,
                                                                      tmp_path: pathlib.Path) -> None:
    await _default_account(client)
    volume = {"name": "vault", "projected": {"sources": [
        {"serviceAccountToken": {"audience": AUDIENCE, "expirationSeconds": LIFETIME, "path": "token"}}]}}
    pod = await client.create(PODS, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "tokens"},
                                     "spec": {"volumes": [volume], "containers": [{"name": "c", "image": "x"}]}},
                              namespace="default")
    clock = FakeClock(start=datetime.datetime.now(datetime.UTC))
    sources = APIObjectSource(client, services=cast(Any, None))  # services are not read for volumes
    manager = vm.VolumeManager(tmp_path / "pods", sources, clock=clock, can_mount=False)
    try:
        mounted = await manager.mount_pod(pod)
        assert mounted.ok, mounted.failures
        root = mounted.volumes["vault"].host_path
        first, first_dir = (root / "token").read_text(), os.readlink(root / "..data")
        claims = _claims(first)
        assert claims["aud"] == [AUDIENCE] and claims["exp"] - claims["iat"] == LIFETIME
        assert claims["kubernetes.io"]["pod"] == {"name": "tokens", "uid": pod["metadata"]["uid"]}
        assert await _accepted(client, first)

        await clock.advance(0.79 * LIFETIME)
        await manager.mount_pod(pod)
        assert (root / "token").read_text() == first and os.readlink(root / "..data") == first_dir

        await clock.advance(0.02 * LIFETIME)
        await manager.mount_pod(pod)
        second = (root / "token").read_text()
        assert second != first and os.readlink(root / "..data") != first_dir
        assert os.readlink(root / "token") == "..data/token"
        assert _claims(second)["aud"] == [AUDIENCE] and await _accepted(client, second)
    finally:
        await manager.unmount_pod(pod["metadata"]["uid"])
        await client.delete(PODS, "tokens", namespace="default")
