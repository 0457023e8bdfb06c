"""One ``pyk8s server --simulate-nodes 2`` (controller manager and scheduler inside) shared by every
policy e2e test: quotas, limit ranges, disruption budgets and drain, Pod Security.  Each test works
in its own namespace."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from pyk8s.testing.cluster import ServerProcess
from tests.e2e.helpers import wait_until


@pytest.fixture(scope="package")
def policy_cluster(server_available: None) -> Iterator[ServerProcess]:
    with ServerProcess(control_plane=True, extra_args=["--simulate-nodes", "2"]) as srv:
        wait_until(lambda: len(json.loads(srv.kubectl("get", "nodes", "-o", "json").stdout)["items"]) == 2,
                   timeout=60, what="two simulated nodes")
        yield srv


def apply(srv: ServerProcess, manifest: str, *, check: bool = True) -> str:
    result = srv.kubectl("apply", "-f", "-", input=manifest, check=check)
    return result.stdout + result.stderr


def get(srv: ServerProcess, *args: str) -> dict:
    return json.loads(srv.kubectl("get", *args, "-o", "json").stdout)
