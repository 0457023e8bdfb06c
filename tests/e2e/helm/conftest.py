"""One control plane with a simulated node for the Helm e2e tests (Helm's own Go SDK, loaded from
``helm-python-sdk``): the node makes the hook Jobs' pods run and finish, so Helm's hook waits end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pyk8s.testing.cluster import ServerProcess
from tests.e2e.helm.chart import write_chart


@pytest.fixture(scope="package")  # ends with this folder: no idle control plane under later tests
def helm_cluster(server_available: None) -> Iterator[ServerProcess]:
    with ServerProcess(control_plane=True, extra_args=["--simulate-nodes", "1"]) as srv:
        yield srv


@pytest.fixture(scope="session")
def chart_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_chart(tmp_path_factory.mktemp("helm-chart"))
