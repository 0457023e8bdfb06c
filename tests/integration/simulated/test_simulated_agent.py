"""``pyk8s agent --simulate 3`` against a real ``pyk8s server``, checked with the real kubectl.

The agent runs as its own process (as users run it); it is stopped by PID.
Skipped when the server cannot start or store objects yet.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest

from pyk8s.testing.cluster import REPO_ROOT, ServerProcess

AGENT = [str(REPO_ROOT / ".venv" / "bin" / "pyk8s"), "agent"]


def wait_for(cond: Callable[[], Any], limit: float = 30.0, what: str = "") -> Any:
    deadline = time.monotonic() + limit
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    try:
        srv = ServerProcess().start()
    except (RuntimeError, TimeoutError, OSError) as exc:
        pytest.skip(f"pyk8s server does not start: {exc}")
    try:
        probe = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "probe-" + uuid.uuid4().hex[:6]}}
        code, body = srv.request("POST", "/api/v1/namespaces/default/configmaps", orjson.dumps(probe),
                                 headers={"Content-Type": "application/json"})
        if code != 201:
            pytest.skip(f"pyk8s server cannot store objects yet: {code} {body[:200]!r}")
        yield srv
    finally:
        srv.close()


@pytest.fixture(scope="module")
def agent(server: ServerProcess) -> Iterator[subprocess.Popen[bytes]]:
    with tempfile.NamedTemporaryFile(prefix="sim-agent-", suffix=".log", delete=False) as log:
        proc = subprocess.Popen([*AGENT, "--kubeconfig", server.kubeconfig, "--simulate", "3", "--roles", "worker",
                                 "--labels", "sim.pyk8s.io/pool=it"], stdout=log, stderr=log,
                                start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if proc.returncode not in (0, -signal.SIGTERM):
            sys.stderr.write(open(log.name, encoding="utf-8", errors="replace").read()[-4000:])
        os.unlink(log.name)


def test_nodes_ready_and_pod_lifecycle(server: ServerProcess, agent: subprocess.Popen[bytes]) -> None:
    def nodes_ready() -> list[list[str]] | None:
        out = server.kubectl("get", "nodes", "--no-headers", check=False).stdout
        rows = [line.split() for line in out.splitlines() if line.startswith("sim-")]
        if len(rows) == 3 and all(r[1] == "Ready" for r in rows):
            return rows
        assert agent.poll() is None, "agent exited"
        return None

    rows = wait_for(nodes_ready, what="3 Ready simulated nodes")
    assert sorted(r[0] for r in rows) == ["sim-0", "sim-1", "sim-2"]
    assert all(r[2] == "worker" and r[4] == "v1.32.0" for r in rows)  # NAME STATUS ROLES AGE VERSION
    wide = server.kubectl("get", "node", "sim-1", "-o", "wide", "--no-headers").stdout.split()
    assert wide[5] == "172.16.0.3"  # INTERNAL-IP

    leases = wait_for(lambda: server.kubectl("get", "leases", "-n", "kube-node-lease", "-o", "name").stdout.count(
        "lease.coordination.k8s.io/sim-") == 3 and True, limit=20, what="3 node leases")
    assert leases

    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bound-by-hand", "namespace": "default"},
                "spec": {"schedulerName": "nobody", "containers": [{"name": "app", "image": "busybox:1.36"}]}}
    created = server.kubectl("create", "-f", "-", input=orjson.dumps(manifest).decode())
    assert created.returncode == 0, created.stderr
    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "bound-by-hand"},
               "target": {"apiVersion": "v1", "kind": "Node", "name": "sim-1"}}
    code, body = server.request("POST", "/api/v1/namespaces/default/pods/bound-by-hand/binding",
                                orjson.dumps(binding), headers={"Content-Type": "application/json"})
    assert code == 201, body

    def running() -> list[str] | None:
        cols = server.kubectl("get", "pod", "bound-by-hand", "--no-headers").stdout.split()
        return cols if cols[1:3] == ["1/1", "Running"] else None

    wait_for(running, what="pod Running 1/1")
    wide = server.kubectl("get", "pod", "bound-by-hand", "-o", "wide", "--no-headers").stdout.split()
    assert wide[5].startswith("10.244.1.") and wide[6] == "sim-1"  # IP, NODE

    start = time.monotonic()
    deleted = server.kubectl("delete", "pod", "bound-by-hand", "--timeout=30s")
    assert deleted.returncode == 0, deleted.stderr
    assert time.monotonic() - start < 20
    gone = server.kubectl("get", "pod", "bound-by-hand", check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr


def test_run_seconds_pod_completes(server: ServerProcess, agent: subprocess.Popen[bytes]) -> None:
    wait_for(lambda: "sim-2" in server.kubectl("get", "nodes", "-o", "name", check=False).stdout, what="sim-2")
    manifest = {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "one-shot", "namespace": "default",
                             "annotations": {"sim.pyk8s.io/run-seconds": "1", "sim.pyk8s.io/exit-code": "0"}},
                "spec": {"nodeName": "sim-2", "restartPolicy": "Never",
                         "containers": [{"name": "app", "image": "busybox:1.36"}]}}
    server.kubectl("create", "-f", "-", input=orjson.dumps(manifest).decode())

    def completed() -> list[str] | None:
        cols = server.kubectl("get", "pod", "one-shot", "--no-headers", check=False).stdout.split()
        return cols if cols[1:3] == ["0/1", "Completed"] else None

    wait_for(completed, limit=20, what="pod Completed")
    phase = server.kubectl("get", "pod", "one-shot", "-o", "jsonpath={.status.phase}").stdout
    assert phase == "Succeeded"
    server.kubectl("delete", "pod", "one-shot", "--timeout=30s")
