"""kubectl port-forward (SPDY/3.1 tunnelled in WebSocket) and kubectl debug (an ephemeral container, then attach)."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request

from tests.e2e.helpers import read_output_until, row_for, wait_until
from tests.e2e.kubelet.conftest import Cluster

BUSYBOX = "busybox:1.36"
PAGE = "hello-from-pod"


def phase_row(c: Cluster, name: str) -> list[str]:
    return row_for(c.kubectl("get", "pod", name).stdout, name)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def web_pod(c: Cluster) -> None:
    script = f"mkdir -p /www && echo {PAGE} > /www/index.html && exec httpd -f -p 8080 -h /www"
    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pf-web"}, "spec": {
        "terminationGracePeriodSeconds": 1,
        "containers": [{"name": "app", "image": BUSYBOX, "imagePullPolicy": "IfNotPresent",
                        "command": ["sh", "-c", script]}]}}
    c.kubectl("apply", "-f", "-", input=json.dumps(manifest))
    wait_until(lambda: phase_row(c, "pf-web")[2] == "Running", timeout=40, what="web Running")


def start_forward(c: Cluster, mapping: str) -> subprocess.Popen[str]:
    proc = c.server.kubectl_popen("port-forward", "pod/pf-web", mapping)
    local = mapping.split(":")[0]
    seen = read_output_until(proc, lambda text: "Forwarding from" in text, timeout=20)
    assert f"Forwarding from 127.0.0.1:{local} -> {mapping.split(':')[1]}" in seen
    return proc


def test_port_forward_carries_data(cluster: Cluster) -> None:
    web_pod(cluster)
    local = free_port()
    proc = start_forward(cluster, f"{local}:8080")
    try:
        for _ in range(3):  # several connections over the one upgraded connection
            with urllib.request.urlopen(f"http://127.0.0.1:{local}/", timeout=10) as reply:  # noqa: S310 - loopback
                assert reply.read().decode() == PAGE + "\n"
        big = cluster.kubectl("exec", "pf-web", "--", "sh", "-c",
                              "head -c 300000 /dev/zero | tr '\\0' x > /www/big.txt && echo ok").stdout
        assert big == "ok\n"
        with urllib.request.urlopen(f"http://127.0.0.1:{local}/big.txt", timeout=10) as reply:  # noqa: S310
            assert reply.read() == b"x" * 300_000
    finally:
        proc.kill()
        proc.wait(5)


def test_port_forward_to_a_closed_port(cluster: Cluster) -> None:
    wait_until(lambda: phase_row(cluster, "pf-web")[2] == "Running", timeout=40, what="web Running")
    local = free_port()
    proc = start_forward(cluster, f"{local}:81")
    try:
        with socket.create_connection(("127.0.0.1", local), timeout=10) as conn:
            conn.settimeout(10)
            assert conn.recv(100) == b""  # the pod side refused: kubectl closes the local connection
        assert proc.stderr is not None
        deadline = time.monotonic() + 10
        text = ""
        while "connection refused" not in text and time.monotonic() < deadline:
            text += proc.stderr.readline()
        assert f"an error occurred forwarding {local} -> 81" in text
        assert "connection refused" in text
    finally:
        proc.kill()
        proc.wait(5)


def test_debug_adds_an_ephemeral_container_and_attaches(cluster: Cluster) -> None:
    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "debug-target"}, "spec": {
        "terminationGracePeriodSeconds": 1,
        "containers": [{"name": "app", "image": BUSYBOX, "imagePullPolicy": "IfNotPresent",
                        "command": ["sleep", "3600"]}]}}
    cluster.kubectl("apply", "-f", "-", input=json.dumps(manifest))
    wait_until(lambda: phase_row(cluster, "debug-target")[2] == "Running", timeout=40, what="target Running")
    # stdin stays open: containerd ends an attach when its stdin ends (StdinOnce is false), as upstream.
    debug = subprocess.Popen(cluster.server.kubectl_args(
        "debug", "-i", "pod/debug-target", f"--image={BUSYBOX}", "--image-pull-policy=IfNotPresent", "--target=app",
        "--container=dbg", "--", "sh", "-c", "read x; echo got-$x; ps; sleep 30"), stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cluster.server.kubectl_env(), start_new_session=True)
    try:
        assert debug.stdin is not None
        seen = read_output_until(debug, lambda text: 'Targeting container "app"' in text, timeout=30)
        wait_until(lambda: _ephemeral_running(cluster), timeout=30, what="dbg running")
        debug.stdin.write(b"ping\n")
        debug.stdin.flush()
        seen = read_output_until(debug, lambda text: "sleep 3600" in text, timeout=30)
        assert "got-ping" in seen
        # ps in the debug container lists the target's processes: the PID namespace is shared.
    finally:
        debug.kill()
        debug.wait(5)
    pod = json.loads(cluster.kubectl("get", "pod", "debug-target", "-o", "json").stdout)
    assert [c["name"] for c in pod["spec"]["ephemeralContainers"]] == ["dbg"]
    assert pod["spec"]["ephemeralContainers"][0]["targetContainerName"] == "app"
    statuses = pod["status"]["ephemeralContainerStatuses"]
    assert [(st["name"], list(st["state"])) for st in statuses] == [("dbg", ["running"])]
    forbidden = cluster.kubectl("patch", "pod", "debug-target", "--subresource=ephemeralcontainers", "--type=json",
                                "-p", '[{"op":"remove","path":"/spec/ephemeralContainers/0"}]', check=False)
    assert 'existing ephemeral containers "dbg" may not be removed' in forbidden.stderr


def _ephemeral_running(c: Cluster) -> bool:
    pod = json.loads(c.kubectl("get", "pod", "debug-target", "-o", "json").stdout)
    return any("running" in (st.get("state") or {}) for st in pod["status"].get("ephemeralContainerStatuses") or [])


def test_port_forward_over_legacy_spdy(cluster: Cluster) -> None:
    wait_until(lambda: phase_row(cluster, "pf-web")[2] == "Running", timeout=40, what="web Running")
    local = free_port()
    proc = subprocess.Popen(cluster.server.kubectl_args("port-forward", "pod/pf-web", f"{local}:8080"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**cluster.server.kubectl_env(), "KUBECTL_PORT_FORWARD_WEBSOCKETS": "false"})
    try:
        read_output_until(proc, lambda text: "Forwarding from" in text, timeout=20)
        with urllib.request.urlopen(f"http://127.0.0.1:{local}/", timeout=10) as reply:  # noqa: S310 - loopback
            assert reply.read().decode() == PAGE + "\n"
    finally:
        proc.kill()
        proc.wait(5)
