"""Pods run as real containers: what kubectl shows through start, crash, kill, probes and deletion."""

from __future__ import annotations

import ipaddress
import json
import time

from tests.e2e.helpers import row_for, wait_until
from tests.e2e.kubelet.conftest import NODE, Cluster

BUSYBOX = "busybox:1.36"


def pod_json(c: Cluster, name: str) -> dict:  # type: ignore[type-arg]
    return json.loads(c.kubectl("get", "pod", name, "-o", "json").stdout)


def status_row(c: Cluster, name: str) -> list[str]:
    return row_for(c.kubectl("get", "pod", name).stdout, name)  # NAME READY STATUS RESTARTS AGE


def run(c: Cluster, name: str, *command: str, extra: tuple[str, ...] = ()) -> None:
    c.kubectl("run", name, f"--image={BUSYBOX}", "--image-pull-policy=IfNotPresent", *extra, "--", *command)


def test_node_registers_with_host_facts(cluster: Cluster) -> None:
    wide = row_for(cluster.kubectl("get", "node", "-o", "wide").stdout, NODE)
    assert wide[1] == "Ready"
    assert wide[5] == cluster.netns.node_ip  # INTERNAL-IP
    assert wide[-1].startswith("containerd://")
    node = json.loads(cluster.kubectl("get", "node", NODE, "-o", "json").stdout)
    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == NODE
    assert node["status"]["capacity"]["pods"] == "110"
    lease = json.loads(cluster.kubectl("get", "lease", NODE, "-n", "kube-node-lease", "-o", "json").stdout)
    assert lease["spec"]["holderIdentity"] == NODE


def test_pod_runs_with_ip_from_node_cidr(cluster: Cluster) -> None:
    run(cluster, "sleeper", "sleep", "3600")
    wait_until(lambda: status_row(cluster, "sleeper")[2] == "Running", timeout=30, what="sleeper Running")
    assert status_row(cluster, "sleeper")[1] == "1/1"
    pod = pod_json(cluster, "sleeper")
    cidr = json.loads(cluster.kubectl("get", "node", NODE, "-o", "json").stdout)["spec"]["podCIDR"]
    assert ipaddress.ip_address(pod["status"]["podIP"]) in ipaddress.ip_network(cidr)
    assert pod["status"]["hostIP"] == cluster.netns.node_ip
    assert pod["status"]["qosClass"] == "BestEffort"
    assert pod["status"]["containerStatuses"][0]["containerID"].startswith("containerd://")
    events = cluster.kubectl("get", "events", "--field-selector", "involvedObject.name=sleeper").stdout
    for reason in ("Pulled", "Created", "Started"):
        assert reason in events
    assert 'Container image "busybox:1.36" already present on machine' in events
    # The pod answers on its IP from the node.
    ping = cluster.kubelet.node("busybox", "ping", "-c", "1", "-W", "2", pod["status"]["podIP"])
    assert ping.returncode == 0, ping.stdout + ping.stderr


def test_crashing_container_backs_off(cluster: Cluster) -> None:
    run(cluster, "crasher", "sh", "-c", "echo going; exit 3")
    wait_until(lambda: status_row(cluster, "crasher")[2] == "CrashLoopBackOff", timeout=40, what="CrashLoopBackOff")
    status = pod_json(cluster, "crasher")["status"]["containerStatuses"][0]
    assert status["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert "back-off" in status["state"]["waiting"]["message"]
    assert status["lastState"]["terminated"]["exitCode"] == 3
    assert status["lastState"]["terminated"]["reason"] == "Error"
    assert status["restartCount"] >= 1
    events = cluster.kubectl("get", "events", "--field-selector", "involvedObject.name=crasher").stdout
    assert "BackOff" in events and "Back-off restarting failed container" in events


def test_never_pull_absent_image(cluster: Cluster) -> None:
    cluster.kubectl("run", "neverpull", "--image=example.invalid/absent:1", "--image-pull-policy=Never")
    wait_until(lambda: status_row(cluster, "neverpull")[2] == "ErrImageNeverPull", timeout=30,
               what="ErrImageNeverPull")
    events = cluster.kubectl("get", "events", "--field-selector", "involvedObject.name=neverpull").stdout
    assert "ErrImageNeverPull" in events


def test_completed_pod_succeeds(cluster: Cluster) -> None:
    run(cluster, "oneshot", "true", extra=("--restart=Never",))
    wait_until(lambda: status_row(cluster, "oneshot")[2] == "Completed", timeout=30, what="Completed")
    assert pod_json(cluster, "oneshot")["status"]["phase"] == "Succeeded"


def test_readiness_probe_gates_ready(cluster: Cluster) -> None:
    manifest = {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probed"},
        "spec": {"containers": [{
            "name": "app", "image": BUSYBOX, "imagePullPolicy": "IfNotPresent",
            "command": ["sh", "-c", "sleep 3; touch /tmp/ready; sleep 3600"],
            "readinessProbe": {"exec": {"command": ["cat", "/tmp/ready"]}, "periodSeconds": 1},
        }]},
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(manifest))
    wait_until(lambda: status_row(cluster, "probed")[2] == "Running", timeout=30, what="probed Running")
    assert status_row(cluster, "probed")[1] == "0/1"
    wait_until(lambda: status_row(cluster, "probed")[1] == "1/1", timeout=30, what="probed Ready")
    events = cluster.kubectl("get", "events", "--field-selector", "involvedObject.name=probed").stdout
    assert "Readiness probe failed" in events


def test_liveness_failure_restarts_container(cluster: Cluster) -> None:
    manifest = {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "unlively"},
        "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
            "name": "app", "image": BUSYBOX, "imagePullPolicy": "IfNotPresent",
            "command": ["sleep", "3600"],
            "livenessProbe": {"exec": {"command": ["false"]}, "periodSeconds": 1, "failureThreshold": 2},
        }]},
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(manifest))
    wait_until(lambda: int(status_row(cluster, "unlively")[3].split()[0]) >= 1, timeout=40, what="a restart")
    events = cluster.kubectl("get", "events", "--field-selector", "involvedObject.name=unlively").stdout
    assert "Liveness probe failed" in events
    assert "failed liveness probe, will be restarted" in events


def test_delete_kills_within_grace_period(cluster: Cluster) -> None:
    # sleep as PID 1 ignores SIGTERM: only the SIGKILL at the end of the grace period stops it.
    run(cluster, "stubborn", "sleep", "3600", extra=("--overrides",
        json.dumps({"spec": {"terminationGracePeriodSeconds": 2}})))
    wait_until(lambda: status_row(cluster, "stubborn")[2] == "Running", timeout=30, what="stubborn Running")
    started = time.monotonic()
    cluster.kubectl("delete", "pod", "stubborn", "--wait=true", timeout=60)
    took = time.monotonic() - started
    assert 1.5 <= took < 15, took
    events = cluster.kubectl("get", "events", "--field-selector", "involvedObject.name=stubborn").stdout
    assert "Killing" in events and "Stopping container stubborn" in events


def test_kubelet_restart_adopts_running_pods(cluster: Cluster) -> None:
    run(cluster, "survivor", "sleep", "3600")
    wait_until(lambda: status_row(cluster, "survivor")[2] == "Running", timeout=30, what="survivor Running")
    before = pod_json(cluster, "survivor")["status"]["containerStatuses"][0]
    cluster.kubelet.stop()
    cluster.kubelet.start()
    cluster.kubelet.wait_ready()
    time.sleep(3)  # a few relists and syncs
    after = pod_json(cluster, "survivor")["status"]["containerStatuses"][0]
    assert after["containerID"] == before["containerID"]
    assert after["restartCount"] == before["restartCount"] == 0
    assert status_row(cluster, "survivor")[2] == "Running"


def test_api_server_restart_touches_no_pod(cluster: Cluster) -> None:
    run(cluster, "steady", "sleep", "3600")
    wait_until(lambda: status_row(cluster, "steady")[2] == "Running", timeout=30, what="steady Running")
    before = pod_json(cluster, "steady")["status"]["containerStatuses"][0]
    cluster.server.restart()
    time.sleep(3)  # the kubelet's watches and status loop reconnect
    after = pod_json(cluster, "steady")["status"]["containerStatuses"][0]
    assert after["containerID"] == before["containerID"] and after["restartCount"] == 0
    assert status_row(cluster, "steady")[2] == "Running"
    assert row_for(cluster.kubectl("get", "node", NODE).stdout, NODE)[1] == "Ready"
    run(cluster, "after-restart", "sleep", "3600")  # and the kubelet still takes new pods
    wait_until(lambda: status_row(cluster, "after-restart")[2] == "Running", timeout=30, what="a new pod Running")
