"""Fixtures for the end-to-end suite: a real ``pyk8s server`` per test module,
the real kubectl, and the official Python client.

The server is shared by every test in a module (starting one costs seconds),
so tests use names of their own and never assume an empty namespace.  The
fixtures are opt-in: other e2e folders (tests/e2e/runtime) are unaffected.

``shared_node`` is the one real-kubelet cluster that several folders borrow in
turn (``tests.e2e.shared_node``).  The hooks below run those folders back to
back and close the cluster as soon as the next test is in a folder that does
not use it, so it never idles under the rest of the session.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest

from pyk8s.testing.cluster import ServerProcess, server_binary
from tests.e2e.shared_node import FIXTURE, SharedNode

_SHARED = SharedNode()
_USERS: set[pytest.Package] = set()  # the folders (packages) whose tests use it, found at collection


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


@pytest.fixture(scope="session")
def shared_node() -> Iterator[SharedNode]:
    """The shared real-kubelet cluster, started by its first ``acquire()`` (see ``tests.e2e.shared_node``)."""
    try:
        yield _SHARED
    finally:
        _SHARED.close()


def _package(item: pytest.Item) -> pytest.Package | None:
    return item.getparent(pytest.Package)


def _shared_packages(items: list[pytest.Item]) -> set[pytest.Package]:
    found = {_package(item) for item in items if FIXTURE in getattr(item, "fixturenames", ())}
    return {package for package in found if package is not None}


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the folders that borrow the shared cluster one after another (each folder kept whole and in order),
    starting where the first of them was: one start of the cluster instead of one per stretch of users."""
    users = _shared_packages(items)
    _USERS.clear()
    _USERS.update(users)
    first = next((i for i, item in enumerate(items) if _package(item) in users), None)
    if first is None:
        return
    block = [item for item in items[first:] if _package(item) in users]
    rest = [item for item in items[first:] if _package(item) not in users]
    items[first:] = block + rest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):  # type: ignore[no-untyped-def]
    last = nextitem is None or _package(nextitem) not in _USERS
    _SHARED.last_user = last
    try:
        return (yield)
    finally:
        # After this item's own teardown (its folder's fixtures, which release the cluster, included).
        _SHARED.last_user = False
        if last and _SHARED.running:
            _SHARED.close()

