"""How pods end and restart, as kubectl shows it: OOMKilled, restartPolicy, deadlines, a kill from outside;
and the pod's own view of its network: /etc/hosts, resolv.conf, hostPort."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.e2e.helpers import wait_until
from tests.e2e.kubelet.conftest import Cluster
from tests.e2e.kubelet.podkit import Pods, namespace

SLEEP = {"name": "app", "command": ["sleep", "3600"]}


@pytest.fixture(scope="module")
def pods(cluster: Cluster) -> Iterator[Pods]:
    yield from namespace(cluster, "outcomes")


def test_memory_limit_oomkills(pods: Pods) -> None:
    # tail keeps the endless "line" of /dev/zero in memory until the cgroup's limit kills it.
    hog = {"name": "hog", "command": ["tail", "/dev/zero"], "resources": {"limits": {"memory": "16Mi"}}}
    pods.pod("oom-once", hog, restartPolicy="Never")
    pods.wait_status("oom-once", "OOMKilled")
    terminated = pods.container("oom-once", "hog")["state"]["terminated"]
    assert (terminated["reason"], terminated["exitCode"]) == ("OOMKilled", 137)
    assert pods.json("oom-once")["status"]["phase"] == "Failed"
    pods.pod("oom-again", hog)
    wait_until(lambda: pods.container("oom-again", "hog").get("lastState", {}).get("terminated"), timeout=40,
               what="lastState.terminated")
    last = pods.container("oom-again", "hog")["lastState"]["terminated"]
    assert (last["reason"], last["exitCode"]) == ("OOMKilled", 137)
    assert pods.restarts("oom-again") >= 1
    described = pods.describe("oom-again")
    assert "Last State:     Terminated" in described and "Reason:       OOMKilled" in described
    assert "Exit Code:    137" in described


def test_restart_policies_decide_the_phase(pods: Pods) -> None:
    pods.pod("never-fails", {"name": "app", "command": ["sh", "-c", "exit 2"]}, restartPolicy="Never")
    pods.pod("onfail-ok", {"name": "app", "command": ["true"]}, restartPolicy="OnFailure")
    pods.pod("onfail-bad", {"name": "app", "command": ["sh", "-c", "exit 1"]}, restartPolicy="OnFailure")
    pods.wait_status("never-fails", "Error")
    assert pods.json("never-fails")["status"]["phase"] == "Failed"
    assert pods.restarts("never-fails") == 0
    pods.wait_status("onfail-ok", "Completed")
    assert pods.json("onfail-ok")["status"]["phase"] == "Succeeded"
    assert pods.restarts("onfail-ok") == 0
    wait_until(lambda: pods.restarts("onfail-bad") >= 1, timeout=40, what="onfail-bad restarted")
    assert pods.json("onfail-bad")["status"]["phase"] == "Running"
    pods.wait_status("onfail-bad", "CrashLoopBackOff")


def test_active_deadline_fails_the_pod(pods: Pods) -> None:
    # Long enough that the pod's start-up syncs are over: the kubelet must wake for the deadline itself.
    pods.pod("deadline", SLEEP, activeDeadlineSeconds=6)
    # kubectl's STATUS shows the killed container's reason (Error) over the pod's, as upstream's printer does.
    wait_until(lambda: pods.json("deadline")["status"].get("phase") == "Failed", timeout=30, what="deadline Failed")
    status = pods.json("deadline")["status"]
    assert (status["phase"], status["reason"]) == ("Failed", "DeadlineExceeded")
    assert status["message"] == "Pod was active on the node longer than the specified deadline"
    events = pods.wait_event("deadline", "DeadlineExceeded")
    assert "Pod was active on the node longer than the specified deadline" in events
    # Its container was stopped, and the statuses written after that keep the reason.
    wait_until(lambda: "terminated" in pods.container("deadline", "app").get("state", {}), timeout=20,
               what="container terminated")
    time.sleep(2)
    assert pods.json("deadline")["status"].get("reason") == "DeadlineExceeded"


def test_container_killed_from_outside_restarts(cluster: Cluster, pods: Pods) -> None:
    pods.pod("victim", SLEEP)
    pods.wait_status("victim", "Running")
    container_id = pods.container("victim", "app")["containerID"].removeprefix("containerd://")
    # The container's process: the one whose cgroup path names the container.
    found = cluster.kubelet.node("sh", "-c", f"grep -l {container_id} /proc/[0-9]*/cgroup")
    pids = sorted({p.split("/")[2] for p in found.stdout.split()})
    assert pids, found.stderr
    cluster.kubelet.node("kill", "-9", *pids)
    # Noticed by the next relist (every second), restarted as restartPolicy Always says.
    wait_until(lambda: pods.restarts("victim") == 1, timeout=8, what="victim restarted")
    last = pods.container("victim", "app")["lastState"]["terminated"]
    assert (last["reason"], last["exitCode"]) == ("Error", 137)
    pods.wait_status("victim", "Running")
    # Under restartPolicy Never the same kill ends the pod.
    pods.pod("victim-never", SLEEP, restartPolicy="Never")
    pods.wait_status("victim-never", "Running")
    cid = pods.container("victim-never", "app")["containerID"].removeprefix("containerd://")
    found = cluster.kubelet.node("sh", "-c", f"grep -l {cid} /proc/[0-9]*/cgroup")
    cluster.kubelet.node("kill", "-9", *sorted({p.split("/")[2] for p in found.stdout.split()}))
    pods.wait_status("victim-never", "Error", timeout=8)
    assert pods.json("victim-never")["status"]["phase"] == "Failed"


def test_hosts_and_resolv_conf(pods: Pods) -> None:
    pods.pod("named", SLEEP, hostname="web", subdomain="sub",
             hostAliases=[{"ip": "10.1.2.3", "hostnames": ["foo.local", "bar.local"]}])
    pods.pod("custom-dns", SLEEP, dnsPolicy="None",
             dnsConfig={"nameservers": ["10.9.9.9"], "searches": ["example.test"],
                        "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]})
    pods.wait_status("named", "Running")
    hosts = pods.exec("named", "cat", "/etc/hosts")
    assert "# Kubernetes-managed hosts file." in hosts
    ip = pods.json("named")["status"]["podIP"]
    assert f"{ip}\tweb.sub.outcomes.svc.cluster.local\tweb" in hosts
    assert "# Entries added by HostAliases.\n10.1.2.3\tfoo.local\tbar.local" in hosts
    assert pods.exec("named", "hostname").strip() == "web"
    resolv = pods.exec("named", "cat", "/etc/resolv.conf")
    assert "search outcomes.svc.cluster.local svc.cluster.local cluster.local" in resolv
    assert "nameserver 10.96.0.10" in resolv
    assert "options ndots:5" in resolv
    pods.wait_status("custom-dns", "Running")
    custom = pods.exec("custom-dns", "cat", "/etc/resolv.conf").splitlines()
    assert "nameserver 10.9.9.9" in custom
    assert "search example.test" in custom
    assert "options ndots:2 edns0" in custom


def test_host_port_reaches_the_pod_from_the_node(cluster: Cluster, pods: Pods) -> None:
    server = {"name": "web", "command": ["sh", "-c", "mkdir /www; echo hostport-ok > /www/index.html; "
                                                     "exec httpd -f -p 8080 -h /www"],
              "ports": [{"containerPort": 8080, "hostPort": 18080}]}
    pods.pod("hostport", server)
    pods.wait_status("hostport", "Running")
    url = f"http://{cluster.netns.node_ip}:18080/"
    got = wait_until(lambda: (out := cluster.kubelet.node("curl", "-s", "--max-time", "2", url)).returncode == 0
                     and out.stdout, timeout=20, what="hostPort answers")
    assert got == "hostport-ok\n"
