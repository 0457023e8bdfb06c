"""``pyk8s server`` runs the controller manager and the scheduler itself, with leader election.

Checked with the real kubectl: both leader Leases have holders, a pod created
without ``nodeName`` lands on a ``--simulate-nodes`` node, ``--disable
scheduler`` leaves it Pending while the controllers still work, and SIGTERM
gives the Leases up before the server exits 0.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from typing import Any

import pytest

from pyk8s.testing.cluster import ServerProcess
from tests.e2e.helpers import wait_until

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")]


def lease_holders(srv: ServerProcess) -> dict[str, str]:
    out = srv.kubectl("get", "leases", "-n", "kube-system", "-o", "json").stdout
    return {i["metadata"]["name"]: (i.get("spec") or {}).get("holderIdentity") or "" for i in json.loads(out)["items"]}


def pod(srv: ServerProcess, name: str) -> dict[str, Any]:
    return json.loads(srv.kubectl("get", "pod", name, "-o", "json").stdout)


def run_pod(srv: ServerProcess, name: str) -> None:
    srv.kubectl("run", name, "--image=busybox", "--restart=Never")


@pytest.fixture(scope="module")
def full() -> Iterator[ServerProcess]:
    with ServerProcess(control_plane=True, extra_args=["--simulate-nodes", "1"]) as srv:
        yield srv


def test_readiness_message_is_unchanged(full: ServerProcess) -> None:
    log = full.log_tail(20000)
    assert f"export KUBECONFIG={full.kubeconfig}" in log and "kubectl get namespaces" in log


def test_both_leader_leases_have_holders(full: ServerProcess) -> None:
    holders = wait_until(lambda: (h := lease_holders(full)).get("kube-controller-manager")
                         and h.get("kube-scheduler") and h, what="both leases held")
    assert holders["kube-controller-manager"] != holders["kube-scheduler"]
    table = full.kubectl("get", "leases", "-n", "kube-system").stdout.splitlines()
    assert table[0].split() == ["NAME", "HOLDER", "AGE"]
    rows = {line.split()[0]: line.split()[1] for line in table[1:]}
    assert rows["kube-controller-manager"] == holders["kube-controller-manager"]
    assert rows["kube-scheduler"] == holders["kube-scheduler"]


def test_pod_is_scheduled_onto_the_simulated_node_and_runs(full: ServerProcess) -> None:
    wait_until(lambda: "sim-0" in full.kubectl("get", "nodes", "-o", "name").stdout, what="node sim-0")
    run_pod(full, "lands")
    placed = wait_until(lambda: (p := pod(full, "lands"))["spec"].get("nodeName") and p, what="pod bound")
    assert placed["spec"]["nodeName"] == "sim-0"
    wait_until(lambda: pod(full, "lands")["status"].get("phase") == "Running", what="pod Running")
    events = full.kubectl("get", "events", "--field-selector", "involvedObject.name=lands", "-o", "json").stdout
    reasons = {(e["reason"], e.get("source", {}).get("component") or e.get("reportingComponent"))
               for e in json.loads(events)["items"]}
    assert ("Scheduled", "default-scheduler") in reasons


def test_embedded_controllers_act(full: ServerProcess) -> None:
    full.kubectl("create", "deployment", "web", "--image=nginx", "--replicas=2")
    wait_until(lambda: full.kubectl("get", "deployment", "web", "-o", "jsonpath={.status.readyReplicas}").stdout
               == "2", what="deployment 2/2 ready")


def test_sigterm_releases_the_leases_and_exits_zero(full: ServerProcess) -> None:
    wait_until(lambda: all(lease_holders(full).get(n) for n in ("kube-controller-manager", "kube-scheduler")),
               what="both leases held")
    assert full.proc is not None
    full.proc.terminate()
    assert full.proc.wait(timeout=15) == 0
    assert "Traceback" not in full.log_tail(20000)
    full.proc = None
    # Look at what the leader left behind with nothing running that could take the leases again.
    full.control_plane = False
    full.restart()
    holders = lease_holders(full)
    assert holders["kube-controller-manager"] == "" and holders["kube-scheduler"] == ""


def test_disable_scheduler_leaves_pods_pending() -> None:
    with ServerProcess(control_plane=True, extra_args=["--disable", "scheduler", "--simulate-nodes", "1"]) as srv:
        wait_until(lambda: "sim-0" in srv.kubectl("get", "nodes", "-o", "name").stdout, what="node sim-0")
        # The controller manager runs: its lease is held and a Deployment gets its pods.
        wait_until(lambda: lease_holders(srv).get("kube-controller-manager"), what="controller-manager lease")
        srv.kubectl("create", "deployment", "idle", "--image=nginx", "--replicas=1")
        wait_until(lambda: srv.kubectl("get", "pods", "-l", "app=idle", "-o", "name").stdout.strip(),
                   what="deployment pod created")
        run_pod(srv, "waits")
        time.sleep(3)  # several scheduling cycles' worth, had a scheduler been running
        waiting = pod(srv, "waits")
        assert not waiting["spec"].get("nodeName") and waiting["status"]["phase"] == "Pending"
        assert "kube-scheduler" not in lease_holders(srv)
        cols = srv.kubectl("get", "pod", "waits", "--no-headers").stdout.split()
        assert cols[2] == "Pending"
