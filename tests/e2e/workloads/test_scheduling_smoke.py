"""A bare pod is scheduled by the scheduler onto a simulated node and goes Running."""

from __future__ import annotations

import time

from pyk8s.testing.cluster import ServerProcess


def _poll(fn, timeout: float = 60):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


def test_pod_scheduled_and_running(cluster: ServerProcess) -> None:
    nodes = _poll(lambda: [ln for ln in cluster.kubectl("get", "nodes", "--no-headers").stdout.splitlines()
                           if " Ready " in ln and len(ln.split()) >= 2])
    assert len(nodes) >= 2, cluster.kubectl("get", "nodes").stdout
    cluster.kubectl("run", "smoke", "--image=busybox:1.36", "--restart=Never")
    out = _poll(lambda: (o := cluster.kubectl("get", "pod", "smoke", "-o", "wide", "--no-headers").stdout)
                and "Running" in o and o)
    assert out and "Running" in out, cluster.kubectl("describe", "pod", "smoke").stdout
    node = out.split()[6]
    assert any(ln.split()[0] == node for ln in nodes)
