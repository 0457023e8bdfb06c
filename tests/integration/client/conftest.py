"""A real ``pyk8s server`` subprocess shared by this folder's tests.

If the server cannot store objects yet (it answers 503/404 for a configmap
create), the tests are skipped with that reason rather than failing.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import orjson
import pytest

import pyk8s.api  # noqa: F401  (fills the scheme)
from pyk8s.client.rest import Client
from pyk8s.testing.cluster import ServerProcess


@pytest.fixture(scope="session")
def server_process() -> Iterator[ServerProcess]:
    """The server, whatever it can serve yet."""
    try:
        srv = ServerProcess().start()
    except (RuntimeError, TimeoutError, OSError) as exc:
        pytest.skip(f"pyk8s server does not start: {exc}")
    try:
        yield srv
    finally:
        srv.close()


@pytest.fixture(scope="session")
def api_server(server_process: ServerProcess) -> ServerProcess:
    """The server, once it stores objects (else the test is skipped)."""
    probe = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "probe-" + uuid.uuid4().hex[:6]}}
    code, body = server_process.request("POST", "/api/v1/namespaces/default/configmaps", orjson.dumps(probe),
                                        headers={"Content-Type": "application/json"})
    if code != 201:
        pytest.skip(f"pyk8s server cannot store configmaps yet: {code} {body[:200]!r}")
    return server_process


@pytest.fixture
async def client(api_server: ServerProcess) -> AsyncIterator[Client]:
    c = Client.from_kubeconfig(api_server.kubeconfig, field_manager="client-it")
    try:
        yield c
    finally:
        await c.close()


@pytest.fixture
def tag() -> str:
    """A label value unique to one test, to keep tests apart on the shared server."""
    return uuid.uuid4().hex[:8]
