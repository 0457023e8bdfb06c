"""Fixtures for the end-to-end suite: a real ``pyk8s server`` per test module,
the real kubectl, and the official Python client.

The server is shared by every test in a module (starting one costs seconds),
so tests use names of their own and never assume an empty namespace.  The
fixtures are opt-in: other e2e folders (tests/e2e/runtime) are unaffected.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest

from pyk8s.testing.cluster import ServerProcess, server_binary


def _server_command_exists() -> bool:
    """Whether ``pyk8s server`` is a registered command at all (not whether it works)."""
    try:
        out = subprocess.run([server_binary(), "server", "--help"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0


@pytest.fixture(scope="session")
def server_available() -> None:
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed")
    if not _server_command_exists():
        pytest.skip("`pyk8s server` is not implemented yet")


@pytest.fixture(scope="module")
def server(server_available: None) -> Iterator[ServerProcess]:
    srv = ServerProcess()
    try:
        srv.start()
        yield srv
    finally:
        srv.close()


@pytest.fixture(scope="module")
def etcd_server(server_available: None) -> Iterator[ServerProcess]:
    if shutil.which("etcd") is None:
        pytest.skip("etcd binary is missing")
    srv = ServerProcess(etcd=True)
    try:
        srv.start()
        yield srv
    finally:
        srv.close()
