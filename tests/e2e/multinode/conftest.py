"""One two-node cluster on this machine for every test in this folder (``pyk8s.testing.multinode``).

The control plane runs on the machine, bound to its end of a bridge that
lives in a "switch" namespace; each node is a network namespace plugged into
that bridge, with its own kubelet, containerd and NetworkPolicy agent.
Teardown stops the kubelets, resets the nodes (sandboxes, containerd, mounts,
bridge, nftables table, routes), stops the server and deletes every namespace
and veth.  Tests take a namespace of their own (``ns`` fixture).

Root and containerd are required: CI has both.  Where they are missing the
tests fail rather than skip, unless PYK8S_NO_CONTAINERD=1 says so.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator

import pytest

from pyk8s.testing.multinode import MultiNodeCluster
from tests.e2e.multinode.kit import Kit


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root"
    for binary in ("containerd", "runc", "nsenter", "ip", "nft", "kubectl"):
        if shutil.which(binary) is None:
            return f"{binary} is not installed"
    return None


@pytest.fixture(scope="package")
def multinode() -> Iterator[MultiNodeCluster]:
    missing = _missing()
    if missing and os.environ.get("PYK8S_NO_CONTAINERD") == "1":
        pytest.skip(f"multinode e2e: {missing} (PYK8S_NO_CONTAINERD=1)")
    assert missing is None, f"multinode e2e tests need root and containerd: {missing}"
    cluster = MultiNodeCluster(nodes=2).up()
    try:
        yield cluster
    finally:
        cluster.down()


@pytest.fixture
def kit(multinode: MultiNodeCluster) -> Iterator[Kit]:
    """A fresh namespace of the shared cluster, deleted after the test."""
    ns = f"mn-{uuid.uuid4().hex[:6]}"
    multinode.kubectl("create", "namespace", ns)
    try:
        yield Kit(multinode, ns)
    finally:
        multinode.kubectl("delete", "namespace", ns, "--wait=false", check=False)
