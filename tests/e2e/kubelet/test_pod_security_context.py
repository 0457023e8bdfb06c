"""Pod and container security settings against the real kubelet, checked from inside the containers:
hostPID and hostIPC (the node's namespaces), shareProcessNamespace (one container sees the other's process),
seccompProfile RuntimeDefault / Unconfined / Localhost (a profile file in the kubelet's ``<root-dir>/seccomp``,
and one that does not exist: CreateContainerError), and an AppArmor profile on a host without AppArmor
(refused at admission, as upstream's kubelet does).  Nothing here signals a host process: the hostPID pod
only reads /proc."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator

import pytest

from tests.e2e.helpers import wait_until
from tests.e2e.kubelet.conftest import Cluster
from tests.e2e.kubelet.podkit import BUSYBOX, Pods, namespace

NS = "pod-security-context"
SLEEP = ["sleep", "3600"]
PROFILE = "pyk8s-e2e/deny-mkdir.json"
# Everything allowed but mkdir: a container under it proves the runtime loaded this very file.
DENY_MKDIR = {"defaultAction": "SCMP_ACT_ALLOW",
              "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}


@pytest.fixture(scope="module")
def pods(cluster: Cluster) -> Iterator[Pods]:
    yield from namespace(cluster, NS)


@pytest.fixture(scope="module")
def profile(cluster: Cluster) -> Iterator[str]:
    """A Localhost seccomp profile in the kubelet's seccomp root, removed after the module."""
    path = pathlib.Path(cluster.kubelet.root_dir) / "seccomp" / PROFILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(DENY_MKDIR))
    try:
        yield PROFILE
    finally:
        path.unlink(missing_ok=True)
        path.parent.rmdir()


def _seccomp_mode(pods: Pods, pod: str, container: str, pid: str = "1") -> str:
    status = pods.exec(pod, "cat", f"/proc/{pid}/status", container=container)
    return next(line.split()[1] for line in status.splitlines() if line.startswith("Seccomp:"))


def _pid_of(pods: Pods, pod: str, container: str, args: str) -> str:
    listing = pods.exec(pod, "ps", "-o", "pid,args", container=container)
    return next(line.split()[0] for line in listing.splitlines() if line.split()[1:] == args.split())


def _node_ns(cluster: Cluster, kind: str) -> str:
    """The node's namespace of ``kind`` (the kubelet's, read by a process of the node: /proc/1 may be
    another user's on a CI machine)."""
    out = cluster.kubelet.node("readlink", f"/proc/self/ns/{kind}")
    assert out.returncode == 0, out.stderr
    return str(out.stdout).strip()


def test_host_namespaces_and_unconfined_seccomp(pods: Pods, cluster: Cluster) -> None:
    pods.pod("host-ns", {"name": "app", "command": ["sleep", "3603"],
                         "securityContext": {"seccompProfile": {"type": "Unconfined"}}},
             hostPID=True, hostIPC=True, securityContext={"appArmorProfile": {"type": "Unconfined"}})
    pods.pod("own-ns", {"name": "app", "command": SLEEP})
    pods.wait_status("host-ns", "Running", timeout=90)
    pods.wait_status("own-ns", "Running", timeout=90)
    # The first exec of a fresh cluster may come before the kubelet's server answers: poll it.
    wait_until(lambda: pods.kubectl("exec", "own-ns", "--", "true", check=False).returncode == 0,
               timeout=60, what="exec into own-ns")
    # hostPID: the node's PID namespace, where PID 1 is the node's init, not the container's sleep.
    assert pods.exec("host-ns", "readlink", "/proc/self/ns/pid").strip() == _node_ns(cluster, "pid")
    assert pods.exec("host-ns", "cat", "/proc/1/comm").strip() != "sleep"
    assert "sleep 3603" in pods.exec("host-ns", "ps", "-o", "pid,args")
    # hostIPC: the node's IPC namespace.
    assert pods.exec("host-ns", "readlink", "/proc/self/ns/ipc").strip() == _node_ns(cluster, "ipc")
    # Without them the pod has its own namespaces, and its process is PID 1.
    assert pods.exec("own-ns", "readlink", "/proc/self/ns/pid").strip() != _node_ns(cluster, "pid")
    assert pods.exec("own-ns", "readlink", "/proc/self/ns/ipc").strip() != _node_ns(cluster, "ipc")
    assert pods.exec("own-ns", "cat", "/proc/1/comm").strip() == "sleep"
    # Unconfined explicitly, and by default (no profile set): no seccomp filter.
    assert _seccomp_mode(pods, "host-ns", "app") == "0"
    assert _seccomp_mode(pods, "own-ns", "app") == "0"


def test_shared_process_namespace_and_seccomp_profiles(pods: Pods, profile: str) -> None:
    # The pod's profile is the Localhost file; container "b" overrides it with RuntimeDefault.
    pods.pod("shared", {"name": "a", "command": ["sleep", "3601"]},
             {"name": "b", "command": ["sleep", "3602"],
              "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}},
             shareProcessNamespace=True,
             securityContext={"seccompProfile": {"type": "Localhost", "localhostProfile": profile}})
    pods.wait_status("shared", "Running", timeout=90)
    # One PID namespace for the pod: each container sees the other's process, PID 1 is the sandbox's.
    assert "sleep 3601" in pods.exec("shared", "ps", "-o", "pid,args", container="b")
    assert "sleep 3602" in pods.exec("shared", "ps", "-o", "pid,args", container="a")
    assert pods.exec("shared", "cat", "/proc/1/comm", container="a").strip() == "pause"
    # Each container's own process is filtered (mode 2), and so is the sandbox's (always RuntimeDefault);
    # the Localhost profile is the file written for the test: mkdir is denied under it.
    assert _seccomp_mode(pods, "shared", "a", _pid_of(pods, "shared", "a", "sleep 3601")) == "2"
    assert _seccomp_mode(pods, "shared", "b", _pid_of(pods, "shared", "b", "sleep 3602")) == "2"
    assert _seccomp_mode(pods, "shared", "a") == "2"
    denied = pods.kubectl("exec", "shared", "-c", "a", "--", "mkdir", "/tmp/x", check=False)
    assert denied.returncode != 0 and "Operation not permitted" in denied.stderr
    assert pods.exec("shared", "sh", "-c", "mkdir /tmp/x && echo made", container="b").strip() == "made"


def test_missing_localhost_seccomp_profile_fails_container_creation(pods: Pods, cluster: Cluster) -> None:
    pods.pod("seccomp-missing", {"name": "app", "command": SLEEP, "securityContext": {
        "seccompProfile": {"type": "Localhost", "localhostProfile": "pyk8s-e2e/absent.json"}}})
    pods.wait_status("seccomp-missing", "CreateContainerError", timeout=90)
    waiting = pods.container("seccomp-missing", "app")["state"]["waiting"]
    assert waiting["reason"] == "CreateContainerError"
    expected = str(pathlib.Path(cluster.kubelet.root_dir) / "seccomp" / "pyk8s-e2e" / "absent.json")
    assert "cannot load seccomp profile" in waiting["message"] and expected in waiting["message"]
    assert pods.json("seccomp-missing")["status"]["phase"] == "Pending"


def test_apparmor_profile_is_refused_on_a_host_without_apparmor(pods: Pods, cluster: Cluster) -> None:
    enabled = cluster.kubelet.node("cat", "/sys/module/apparmor/parameters/enabled")
    assert not str(enabled.stdout).startswith("Y"), "this test expects a host without AppArmor"
    pods.pod("apparmor", {"name": "app", "command": SLEEP},
             securityContext={"appArmorProfile": {"type": "RuntimeDefault"}})
    pods.wait_status("apparmor", "AppArmor", timeout=60)
    status = pods.json("apparmor")["status"]
    assert status["phase"] == "Failed" and status["reason"] == "AppArmor"
    assert status["message"] == "Pod was rejected: Cannot enforce AppArmor: AppArmor is not enabled on the host"
    events = pods.wait_event("apparmor", "Cannot enforce AppArmor")
    assert "AppArmor is not enabled on the host" in events
    assert not status.get("containerStatuses") or all(
        "running" not in (c.get("state") or {}) for c in status["containerStatuses"])

    # The deprecated annotation is the same request: the API server copies it into the container's field and
    # the kubelet refuses the pod alike.  A seccomp annotation only earns upstream's warning: it does nothing.
    annotations = {"container.apparmor.security.beta.kubernetes.io/app": "localhost/k8s-e2e",
                   "seccomp.security.alpha.kubernetes.io/pod": "runtime/default"}
    made = pods.kubectl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "apparmor-annotated", "annotations": annotations},
        "spec": {"terminationGracePeriodSeconds": 1,
                 "containers": [{"name": "app", "image": BUSYBOX, "imagePullPolicy": "IfNotPresent",
                                 "command": SLEEP}]}}))
    assert ('Warning: metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]: non-functional in v1.27+; '
            'use the "seccompProfile" field instead') in made.stderr
    spec = pods.json("apparmor-annotated")["spec"]
    assert spec["containers"][0]["securityContext"]["appArmorProfile"] == {
        "type": "Localhost", "localhostProfile": "k8s-e2e"}
    pods.wait_status("apparmor-annotated", "AppArmor", timeout=60)
