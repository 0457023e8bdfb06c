"""One ``pyk8s server`` (no kubelet) shared by the CRD e2e tests; each test uses its own names."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pyk8s.testing.cluster import ServerProcess


@pytest.fixture(scope="package")
def crd_server(server_available: None) -> Iterator[ServerProcess]:
    with ServerProcess() as srv:
        yield srv
