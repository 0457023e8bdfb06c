"""Two ``pyk8s scheduler`` processes against one server: one leads, the other takes over when it dies.

Lease timings are shortened (4s / 3s / 0.5s) so the takeover after a SIGKILL
(no release: the standby must wait for the lease to expire) stays quick.
Each scheduler logs ``attempting to acquire leader lease ... as <identity>``,
which maps a Lease holder back to its process.  Processes are stopped by PID.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from pyk8s.testing.cluster import REPO_ROOT, ServerProcess
from tests.e2e.helpers import wait_until

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")]

LEASE_FLAGS = ["--leader-elect-lease-duration=4s", "--leader-elect-renew-deadline=3s",
               "--leader-elect-retry-period=500ms"]
IDENTITY = re.compile(r"attempting to acquire leader lease kube-system/kube-scheduler as (\S+)")


@dataclass
class Scheduler:
    proc: subprocess.Popen[bytes]
    log_path: str

    def log(self) -> str:
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def identity(self) -> str:
        m = IDENTITY.search(self.log())
        return m.group(1) if m else ""

    def scheduling(self) -> bool:
        return "caches synced, scheduling" in self.log()

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        return int(self.proc.returncode)


@pytest.fixture
def server() -> Iterator[ServerProcess]:
    with ServerProcess() as srv:  # bare: no embedded scheduler to compete
        agent = subprocess.Popen([sys.executable, "-m", "pyk8s", "agent", "--kubeconfig", srv.kubeconfig,
                                  "--simulate", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 cwd=str(REPO_ROOT))
        try:
            yield srv
        finally:
            Scheduler(agent, "").stop()


def start_scheduler(srv: ServerProcess, index: int) -> Scheduler:
    path = os.path.join(srv.root, f"scheduler-{index}.log")
    with open(path, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "pyk8s", "scheduler", "--kubeconfig", srv.kubeconfig,
                                 *LEASE_FLAGS], stdout=log, stderr=log, cwd=str(REPO_ROOT))
    return Scheduler(proc, path)


def holder(srv: ServerProcess) -> str:
    out = srv.kubectl("get", "lease", "kube-scheduler", "-n", "kube-system", "-o", "json", check=False)
    if out.returncode != 0:
        return ""
    return str(json.loads(out.stdout)["spec"].get("holderIdentity") or "")


def node_of(srv: ServerProcess, pod: str) -> str:
    return srv.kubectl("get", "pod", pod, "-o", "jsonpath={.spec.nodeName}").stdout


def test_one_leader_schedules_and_the_standby_takes_over_after_a_kill(server: ServerProcess) -> None:
    wait_until(lambda: "sim-0" in server.kubectl("get", "nodes", "-o", "name").stdout, what="node sim-0")
    schedulers = [start_scheduler(server, 0), start_scheduler(server, 1)]
    try:
        wait_until(lambda: all(s.identity() for s in schedulers), what="both schedulers campaigning")
        leader_id = wait_until(lambda: holder(server), what="a lease holder")
        by_id = {s.identity(): s for s in schedulers}
        assert set(by_id) == {s.identity() for s in schedulers} and leader_id in by_id
        leader = by_id[leader_id]
        standby = next(s for s in schedulers if s is not leader)

        server.kubectl("run", "first", "--image=busybox", "--restart=Never")
        wait_until(lambda: node_of(server, "first") == "sim-0", what="first pod bound")
        assert leader.scheduling() and not standby.scheduling()
        assert holder(server) == leader_id  # renewed, not lost to the standby

        leader.stop(signal.SIGKILL)  # a crash: the lease is not released
        new_id = wait_until(lambda: (h := holder(server)) != leader_id and h, timeout=20, what="takeover")
        assert new_id == standby.identity()
        lease = json.loads(server.kubectl("get", "lease", "kube-scheduler", "-n", "kube-system", "-o", "json").stdout)
        assert lease["spec"]["leaseTransitions"] >= 1

        server.kubectl("run", "second", "--image=busybox", "--restart=Never")
        wait_until(lambda: node_of(server, "second") == "sim-0", what="second pod bound by the new leader")
        assert standby.scheduling()

        assert standby.stop(signal.SIGTERM) == 0  # clean stop: exit 0 and the lease given up
        assert holder(server) == ""
        assert "Traceback" not in standby.log()
    finally:
        for s in schedulers:
            s.stop(signal.SIGKILL)
