"""Probes of every kind and lifecycle hooks, as kubectl shows them: READY, RESTARTS, Unhealthy and hook events."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.e2e.helpers import read_output_until, stop_process, wait_until
from tests.e2e.kubelet.conftest import Cluster
from tests.e2e.kubelet.podkit import Pods, namespace

FAST = {"periodSeconds": 1, "timeoutSeconds": 1}
# Answers every request with 200 and keeps the requests it got (headers included) in /tmp/requests.
RECORDER = ("while true; do printf 'HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\nConnection: close\\r\\n\\r\\nok' "
            "| nc -l -p 8080 >> /tmp/requests; done")


@pytest.fixture(scope="module")
def pods(cluster: Cluster) -> Iterator[Pods]:
    yield from namespace(cluster, "probes")


def test_http_probe_with_named_port_and_headers(pods: Pods) -> None:
    app = {"name": "app", "command": ["sh", "-c", RECORDER], "ports": [{"name": "web", "containerPort": 8080}],
           "readinessProbe": {"httpGet": {"path": "/healthz", "port": "web",
                                          "httpHeaders": [{"name": "X-Probe", "value": "hello"}]}, **FAST},
           # Nothing listens on 8081: every liveness check fails and restarts the container.
           "livenessProbe": {"httpGet": {"path": "/live", "port": 8081}, "failureThreshold": 2, **FAST}}
    pods.pod("http-probed", app)
    wait_until(lambda: pods.row("http-probed")[1] == "1/1", timeout=30, what="http-probed Ready")
    requests = pods.exec("http-probed", "cat", "/tmp/requests")
    assert "GET /healthz HTTP/1.1" in requests
    assert "X-Probe: hello" in requests
    assert "User-Agent: kube-probe/1.32" in requests
    wait_until(lambda: pods.restarts("http-probed") >= 1, timeout=30, what="liveness restart")
    events = pods.events("http-probed")
    assert "Liveness probe failed: Get \"http://" in events and ":8081/live\"" in events
    assert "connect: connection refused" in events
    assert "failed liveness probe, will be restarted" in events


def test_tcp_probes(pods: Pods) -> None:
    ready = {"name": "app", "command": ["sh", "-c", "sleep 2; mkdir /www; exec httpd -f -p 9000 -h /www"],
             "readinessProbe": {"tcpSocket": {"port": 9000}, **FAST}}
    dead = {"name": "app", "command": ["sleep", "3600"],
            "livenessProbe": {"tcpSocket": {"port": 9001}, "failureThreshold": 2, **FAST}}
    pods.pod("tcp-ready", ready)
    pods.pod("tcp-dead", dead)
    wait_until(lambda: pods.row("tcp-ready")[1] == "1/1", timeout=30, what="tcp-ready Ready")
    assert "Readiness probe failed: dial tcp" in pods.events("tcp-ready")
    wait_until(lambda: pods.restarts("tcp-dead") >= 1, timeout=30, what="tcp liveness restart")
    events = pods.events("tcp-dead")
    assert "Liveness probe failed: dial tcp" in events and ":9001: connect: connection refused" in events


GRPC_SERVER = """
import sys, time
from concurrent import futures
import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
server = grpc.server(futures.ThreadPoolExecutor(2))
servicer = health.HealthServicer()
servicer.set("", health_pb2.HealthCheckResponse.SERVING)
servicer.set("down", health_pb2.HealthCheckResponse.NOT_SERVING)
health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
server.add_insecure_port("0.0.0.0:" + sys.argv[1])
server.start()
print("serving", flush=True)
time.sleep(600)
"""


@pytest.fixture
def grpc_health_on_node(cluster: Cluster) -> Iterator[int]:
    """A grpc.health.v1 server in the node's namespace (no offline image carries one); hostNetwork pods probe it."""
    port = 19100
    proc = subprocess.Popen(cluster.netns.command([sys.executable, "-c", GRPC_SERVER, str(port)]),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        read_output_until(proc, lambda text: "serving" in text, timeout=20)
        yield port
    finally:
        stop_process(proc)


def test_grpc_probes(pods: Pods, grpc_health_on_node: int) -> None:
    def probed(service: str) -> dict[str, object]:
        grpc_action: dict[str, object] = {"port": grpc_health_on_node, "service": service}
        return {"name": "app", "command": ["sleep", "3600"], "readinessProbe": {"grpc": grpc_action, **FAST}}
    pods.pod("grpc-serving", probed(""), hostNetwork=True)
    pods.pod("grpc-down", probed("down"), hostNetwork=True)
    # A port that does not speak gRPC at all.
    refused = {"name": "app", "command": ["sleep", "3600"],
               "livenessProbe": {"grpc": {"port": 19101}, "failureThreshold": 2, **FAST}}
    pods.pod("grpc-refused", refused, hostNetwork=True)
    wait_until(lambda: pods.row("grpc-serving")[1] == "1/1", timeout=30, what="grpc-serving Ready")
    events = pods.wait_event("grpc-down", "Readiness probe failed")
    assert 'service unhealthy (responded with "NOT_SERVING")' in events
    assert pods.row("grpc-down")[1] == "0/1"
    wait_until(lambda: pods.restarts("grpc-refused") >= 1, timeout=30, what="grpc liveness restart")
    assert "failed to connect service" in pods.events("grpc-refused")
    for name in ("grpc-serving", "grpc-down", "grpc-refused"):
        pods.delete(name)


def test_startup_probe_gates_liveness_and_readiness(pods: Pods) -> None:
    app = {"name": "app", "command": ["sh", "-c", "sleep 4; touch /tmp/started; sleep 3600"],
           "startupProbe": {"exec": {"command": ["cat", "/tmp/started"]}, "failureThreshold": 30, **FAST},
           "livenessProbe": {"exec": {"command": ["cat", "/tmp/started"]}, "failureThreshold": 1, **FAST},
           "readinessProbe": {"exec": {"command": ["true"]}, **FAST}}
    pods.pod("slow-start", app)
    pods.wait_status("slow-start", "Running")
    status = pods.container("slow-start", "app")
    assert (status["started"], status["ready"]) == (False, False)
    wait_until(lambda: pods.row("slow-start")[1] == "1/1", timeout=30, what="slow-start Ready")
    assert pods.container("slow-start", "app")["started"] is True
    assert pods.restarts("slow-start") == 0  # liveness (which fails until /tmp/started) waited for startup
    events = pods.events("slow-start")
    assert "Startup probe failed" in events
    assert "Liveness probe failed" not in events
    # A startup probe that never passes restarts the container.
    never = {"name": "app", "command": ["sleep", "3600"],
             "startupProbe": {"exec": {"command": ["false"]}, "failureThreshold": 2, **FAST}}
    pods.pod("never-starts", never)
    wait_until(lambda: pods.restarts("never-starts") >= 1, timeout=30, what="startup restart")
    assert "failed startup probe, will be restarted" in pods.events("never-starts")


def test_readiness_gate_holds_pod_ready(pods: Pods) -> None:
    pods.pod("gated", {"name": "app", "command": ["sleep", "3600"]},
             readinessGates=[{"conditionType": "example.com/feature"}])
    pods.wait_status("gated", "Running")
    wait_until(lambda: pods.condition("gated", "ContainersReady") == "True", timeout=20, what="containers ready")
    assert pods.condition("gated", "Ready") == "False"
    wide = pods.kubectl("get", "pod", "gated", "-o", "wide").stdout
    assert wide.split()[-1] == "0/1"  # READINESS GATES
    patch = {"status": {"conditions": [{"type": "example.com/feature", "status": "True"}]}}
    pods.kubectl("patch", "pod", "gated", "--subresource=status", "--type=strategic", "-p", json.dumps(patch))
    wait_until(lambda: pods.condition("gated", "Ready") == "True", timeout=20, what="gated Ready")
    assert pods.kubectl("get", "pod", "gated", "-o", "wide").stdout.split()[-1] == "1/1"


def test_post_start_hooks(pods: Pods) -> None:
    hooked = {"name": "app", "command": ["sleep", "3600"],
              "lifecycle": {"postStart": {"exec": {"command": ["sh", "-c", "echo from-hook > /tmp/hook"]}}}}
    pods.pod("poststart", hooked)
    pods.wait_status("poststart", "Running")
    assert pods.exec("poststart", "cat", "/tmp/hook") == "from-hook\n"
    failing = {"name": "app", "command": ["sleep", "3600"],
               "lifecycle": {"postStart": {"exec": {"command": ["sh", "-c", "echo nope; exit 3"]}}}}
    pods.pod("poststart-fails", failing)
    events = pods.wait_event("poststart-fails", "FailedPostStartHook")
    # As upstream 1.32: the hook's output stays out of the event (it may hold secrets); the container is killed.
    assert "Warning   FailedPostStartHook" in events and "PostStartHook failed" in events
    wait_until(lambda: pods.restarts("poststart-fails") >= 1, timeout=30, what="restart after failed hook")
    assert "nope" not in pods.events("poststart-fails")
    assert "Killing" in pods.events("poststart-fails")
    http_fails = {"name": "app", "command": ["sleep", "3600"],
                  "lifecycle": {"postStart": {"httpGet": {"path": "/hook", "port": 8089}}}}
    pods.pod("poststart-http", http_fails)
    assert "PostStartHook failed" in pods.wait_event("poststart-http", "FailedPostStartHook")


def test_pre_stop_hooks_run_on_delete(cluster: Cluster, pods: Pods) -> None:
    marker = cluster.kubelet.root / "prestop-marker"
    host_dir = {"name": "out", "hostPath": {"path": str(cluster.kubelet.root), "type": "Directory"}}
    traps = "trap 'exit 0' TERM; while true; do sleep 0.2; done"
    exec_hook = {"name": "app", "command": ["sh", "-c", traps], "volumeMounts": [{"name": "out", "mountPath": "/out"}],
                 "lifecycle": {"preStop": {"exec": {"command": ["sh", "-c", "echo stopped-by-hook > /out/prestop-marker"]}}}}
    pods.pod("prestop-exec", exec_hook, volumes=[host_dir], terminationGracePeriodSeconds=5)
    pods.wait_status("prestop-exec", "Running")
    pods.delete("prestop-exec")
    assert marker.read_text() == "stopped-by-hook\n"
    marker.unlink()
    # sleep: the container (which stops at once on SIGTERM) is signalled only after the hook's second.
    sleeper = {"name": "app", "command": ["sh", "-c", traps], "lifecycle": {"preStop": {"sleep": {"seconds": 1}}}}
    pods.pod("prestop-sleep", sleeper, terminationGracePeriodSeconds=5)
    pods.wait_status("prestop-sleep", "Running")
    started = time.monotonic()
    pods.delete("prestop-sleep")
    assert time.monotonic() - started >= 1
    # A hook longer than the grace period is cut short: the pod still goes within it (plus the kill).
    endless = {"name": "app", "command": ["sleep", "3600"],
               "lifecycle": {"preStop": {"exec": {"command": ["sleep", "600"]}}}}
    pods.pod("prestop-long", endless, terminationGracePeriodSeconds=2)
    pods.wait_status("prestop-long", "Running")
    started = time.monotonic()
    pods.delete("prestop-long")
    assert 2 <= time.monotonic() - started < 20
    # A failing httpGet hook is reported, and the container is still stopped.
    http_hook = {"name": "app", "command": ["sh", "-c", traps],
                 "lifecycle": {"preStop": {"httpGet": {"path": "/bye", "port": 8089}}}}
    pods.pod("prestop-http", http_hook, terminationGracePeriodSeconds=3)
    pods.wait_status("prestop-http", "Running")
    pods.delete("prestop-http")
    events = pods.events("prestop-http")
    assert "FailedPreStopHook" in events and "PreStopHook failed" in events
