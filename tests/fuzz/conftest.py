"""A fresh ``pyk8s server`` for the fuzz test: loopback, its own SQLite data dir,
no controller manager or scheduler (the fuzzer sees the API server alone)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from pyk8s.testing.cluster import ServerProcess

from .request_strategies import FUZZ_NS


@pytest.fixture(scope="module")
def fuzz_server() -> Iterator[ServerProcess]:
    srv = ServerProcess()
    try:
        srv.start()
        for ns in (FUZZ_NS, "fz-doomed"):
            body = json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}).encode()
            status, out = srv.request("POST", "/api/v1/namespaces", body, headers={"Content-Type": "application/json"})
            assert status == 201, out
        yield srv
    finally:
        srv.close()
