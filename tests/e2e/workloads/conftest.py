"""Control-plane e2e cluster: API server, controller manager, scheduler and simulated nodes as subprocesses.

The server runs bare (``--disable controller-manager,scheduler``) and each
component is its own process, as in a kubeadm cluster: ``pyk8s
controller-manager --controllers *``, ``pyk8s scheduler`` (both with leader
election, the upstream default) and ``pyk8s agent --simulate 2`` (nodes
``sim-0``, ``sim-1``).  The fixture returns once both leader Leases have a
holder and both nodes are registered.  Every process is stopped by PID at
teardown.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from pyk8s.testing.cluster import ServerProcess
from tests.e2e.helpers import stop_process

READY_TIMEOUT = 120.0  # generous: under load the three processes take tens of seconds to start and elect


def _components_up(server: ServerProcess) -> bool:
    # Plain requests, not kubectl: two kubectl runs per poll cost the starting components CPU they need.
    try:
        leases = server.request("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases")
        nodes = server.request("GET", "/api/v1/nodes")
    except OSError:
        return False
    if leases[0] != 200 or nodes[0] != 200:
        return False
    holders = {item["metadata"]["name"]: (item.get("spec") or {}).get("holderIdentity")
               for item in json.loads(leases[1])["items"]}
    return (bool(holders.get("kube-controller-manager")) and bool(holders.get("kube-scheduler"))
            and len(json.loads(nodes[1])["items"]) >= 2)


@pytest.fixture(scope="module")
def cluster() -> Iterator[ServerProcess]:
    server = ServerProcess(extra_args=["--disable", "controller-manager,scheduler"]).start()
    procs: list[subprocess.Popen[bytes]] = []
    log = open(os.path.join(server.root, "components.log"), "ab")  # noqa: SIM115 - closed below
    pyk8s = [sys.executable, "-m", "pyk8s"]
    try:
        procs.append(subprocess.Popen([*pyk8s, "scheduler", "--kubeconfig", server.kubeconfig], stdout=log, stderr=log))
        procs.append(subprocess.Popen([*pyk8s, "controller-manager", "--kubeconfig", server.kubeconfig,
                                       "--controllers", "*"], stdout=log, stderr=log))
        procs.append(subprocess.Popen([*pyk8s, "agent", "--kubeconfig", server.kubeconfig, "--simulate", "2"],
                                      stdout=log, stderr=log))
        deadline = time.monotonic() + READY_TIMEOUT
        while not _components_up(server):
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                log.flush()
                with open(os.path.join(server.root, "components.log"), "rb") as f:
                    tail = f.read()[-3000:].decode(errors="replace")
                raise RuntimeError(f"control-plane components did not come up:\n{tail}")
            time.sleep(0.2)
        yield server
    finally:
        for proc in procs:
            stop_process(proc)
        log.close()
        server.close()
