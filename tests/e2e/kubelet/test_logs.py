"""kubectl logs through the API server and the kubelet: options, follow, previous, and the refusals."""

from __future__ import annotations

import json
import re

from tests.e2e.helpers import read_output_until, row_for, wait_until
from tests.e2e.kubelet.conftest import Cluster

BUSYBOX = "busybox:1.36"


def phase_row(c: Cluster, name: str) -> list[str]:
    return row_for(c.kubectl("get", "pod", name).stdout, name)


def test_logs_options(cluster: Cluster) -> None:
    cluster.kubectl("run", "counter", f"--image={BUSYBOX}", "--image-pull-policy=IfNotPresent", "--restart=Never",
                    "--", "sh", "-c", "for i in 1 2 3 4 5; do echo line $i; done; sleep 1; echo oops >&2")
    wait_until(lambda: phase_row(cluster, "counter")[2] == "Completed", timeout=30, what="counter Completed")
    out = cluster.kubectl("logs", "counter").stdout
    assert out == "line 1\nline 2\nline 3\nline 4\nline 5\noops\n"
    assert cluster.kubectl("logs", "counter", "--tail=2").stdout == "line 5\noops\n"
    assert cluster.kubectl("logs", "counter", "--limit-bytes=8").stdout == "line 1\nl"
    stamped = cluster.kubectl("logs", "counter", "--timestamps", "--tail=1").stdout
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z oops\n", stamped), stamped
    assert cluster.kubectl("logs", "counter", "--since=1h").stdout.count("line") == 5


def test_logs_follow_streams_new_lines(cluster: Cluster) -> None:
    cluster.kubectl("run", "ticker", f"--image={BUSYBOX}", "--image-pull-policy=IfNotPresent", "--",
                    "sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.5; done")
    wait_until(lambda: phase_row(cluster, "ticker")[2] == "Running", timeout=30, what="ticker Running")
    proc = cluster.server.kubectl_popen("logs", "-f", "ticker")
    try:
        seen = read_output_until(proc, lambda text: "tick 4" in text, timeout=20)
        assert "tick 0" in seen and "tick 4" in seen
    finally:
        proc.kill()
        proc.wait(5)


def test_previous_logs_after_a_crash(cluster: Cluster) -> None:
    cluster.kubectl("run", "phoenix", f"--image={BUSYBOX}", "--image-pull-policy=IfNotPresent", "--",
                    "sh", "-c", "echo life $(date +%s%N); sleep 1; exit 1")
    wait_until(lambda: int(phase_row(cluster, "phoenix")[3].split()[0]) >= 1, timeout=40, what="a restart")
    previous = cluster.kubectl("logs", "phoenix", "--previous").stdout
    assert previous.startswith("life ")


def test_refusals_are_worded_as_upstream(cluster: Cluster) -> None:
    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "duo"}, "spec": {"containers": [
        {"name": "a", "image": BUSYBOX, "imagePullPolicy": "IfNotPresent", "command": ["sleep", "3600"]},
        {"name": "b", "image": BUSYBOX, "imagePullPolicy": "IfNotPresent", "command": ["sleep", "3600"]}]}}
    cluster.kubectl("apply", "-f", "-", input=json.dumps(manifest))
    wait_until(lambda: phase_row(cluster, "duo")[2] == "Running", timeout=30, what="duo Running")
    # kubectl itself picks the first container (with a notice) when none is named; the API answers plainly:
    raw = cluster.kubectl("get", "--raw", "/api/v1/namespaces/default/pods/duo/log", check=False)
    assert "a container name must be specified for pod duo, choose one of: [a b]" in raw.stderr
    assert "error: container zz is not valid for pod duo" in cluster.kubectl("logs", "duo", "-c", "zz",
                                                                             check=False).stderr
    wrong = cluster.kubectl("get", "--raw", "/api/v1/namespaces/default/pods/duo/log?container=zz", check=False)
    assert "container zz is not valid for pod duo" in wrong.stderr
    prev = cluster.kubectl("logs", "duo", "-c", "a", "--previous", check=False)
    assert 'previous terminated container "a" in pod "duo" not found' in prev.stderr
    cluster.kubectl("run", "nopull", "--image=example.invalid/none:1", "--image-pull-policy=Never")
    wait_until(lambda: phase_row(cluster, "nopull")[2] == "ErrImageNeverPull", timeout=30, what="ErrImageNeverPull")
    waiting = cluster.kubectl("logs", "nopull", check=False)
    assert ('Error from server (BadRequest): container "nopull" in pod "nopull" is waiting to start: '
            'ErrImageNeverPull') in waiting.stderr
