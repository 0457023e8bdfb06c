"""``pyk8s controller-manager --node-monitor-grace-period 3s``: a dead node is noticed in seconds, not 40 s.

A bare server, one simulated node (``pyk8s agent --simulate 1``) and a
controller manager running only the node lifecycle controller with short
node-monitor timings.  Killing the agent (by PID) stops the node's
heartbeats; the node must turn NotReady with the unreachable taint well
before the default 40 s grace period would allow.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from pyk8s.testing.cluster import REPO_ROOT, ServerProcess
from tests.e2e.helpers import stop_process, wait_until

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")]


def ready_status(srv: ServerProcess) -> tuple[str, str, list[str]]:
    node = json.loads(srv.kubectl("get", "node", "sim-0", "-o", "json").stdout)
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    taints = [t["key"] for t in node["spec"].get("taints") or []]
    return ready["status"], ready.get("reason", ""), taints


def test_short_grace_period_marks_a_dead_node_unreachable_quickly() -> None:
    pyk8s = [sys.executable, "-m", "pyk8s"]
    with ServerProcess() as srv:
        log = open(os.path.join(srv.root, "components.log"), "ab")  # noqa: SIM115 - closed below
        agent = subprocess.Popen([*pyk8s, "agent", "--kubeconfig", srv.kubeconfig, "--simulate", "1"],
                                 stdout=log, stderr=log, cwd=str(REPO_ROOT))
        manager = subprocess.Popen([*pyk8s, "controller-manager", "--kubeconfig", srv.kubeconfig,
                                    "--controllers", "node-lifecycle-controller", "--node-monitor-grace-period", "3s",
                                    "--node-monitor-period", "1s"],
                                   stdout=log, stderr=log, cwd=str(REPO_ROOT))
        try:
            wait_until(lambda: ready_status(srv)[0] == "True" if "sim-0" in srv.kubectl(
                "get", "nodes", "-o", "name").stdout else False, what="sim-0 Ready")
            wait_until(lambda: "kube-controller-manager" in srv.kubectl(
                "get", "leases", "-n", "kube-system", "-o", "name").stdout, what="controller-manager leading")
            time.sleep(1.5)  # the controller has seen at least one heartbeat
            stop_process(agent, signal.SIGKILL)
            killed = time.monotonic()
            status = wait_until(lambda: (s := ready_status(srv))[0] == "Unknown" and s, timeout=20,
                                what="node Unknown")
            took = time.monotonic() - killed
            assert status[1] == "NodeStatusUnknown"
            assert took < 15, f"took {took:.1f}s: the 3s grace period was not applied"
            wait_until(lambda: "node.kubernetes.io/unreachable" in ready_status(srv)[2], timeout=10,
                       what="unreachable taint")
            row = srv.kubectl("get", "node", "sim-0", "--no-headers").stdout.split()
            assert row[1] == "NotReady"
        finally:
            stop_process(manager)
            stop_process(agent, signal.SIGKILL)
            log.close()
