"""Pod-level spec against the real kubelet, as kubectl shows it: sysctls (a safe one set in the pod's network
namespace, an unsafe one rejected with SysctlForbidden), QoS classes and their cgroups, privileged containers,
dnsPolicy Default / ClusterFirst / None, and a sandbox the runtime cannot create (FailedCreatePodSandBox)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.e2e.kubelet.conftest import Cluster
from tests.e2e.kubelet.podkit import Pods, namespace

NS = "podspec-node"
SLEEP = ["sleep", "3600"]


@pytest.fixture(scope="module")
def pods(cluster: Cluster) -> Iterator[Pods]:
    yield from namespace(cluster, NS)


def test_safe_sysctl_is_set_and_unsafe_one_is_rejected(pods: Pods) -> None:
    safe = {"sysctls": [{"name": "net.ipv4.ip_local_port_range", "value": "20000 30000"}]}
    pods.pod("sysctl-safe", {"name": "app", "command": SLEEP}, securityContext=safe)
    unsafe = {"sysctls": [{"name": "kernel.msgmax", "value": "65536"}]}
    pods.pod("sysctl-unsafe", {"name": "app", "command": SLEEP}, securityContext=unsafe)

    pods.wait_status("sysctl-safe", "Running")
    assert pods.exec("sysctl-safe", "cat", "/proc/sys/net/ipv4/ip_local_port_range").split() == ["20000", "30000"]

    # Upstream's kubelet admits no pod with a sysctl outside the safe set (and --allowed-unsafe-sysctls):
    # it fails the pod with reason SysctlForbidden and never starts a container.
    pods.wait_status("sysctl-unsafe", "SysctlForbidden")
    status = pods.json("sysctl-unsafe")["status"]
    assert status["phase"] == "Failed" and status["reason"] == "SysctlForbidden"
    assert status["message"] == 'Pod was rejected: forbidden sysctl: "kernel.msgmax" not allowlisted'
    described = " ".join(pods.describe("sysctl-unsafe").split())
    assert ('Status: Failed Reason: SysctlForbidden Message: Pod was rejected: forbidden sysctl: "kernel.msgmax" '
            "not allowlisted") in described
    events = pods.wait_event("sysctl-unsafe", "SysctlForbidden")
    assert 'forbidden sysctl: "kernel.msgmax" not allowlisted' in events
    assert not status.get("containerStatuses") or all(
        "running" not in (c.get("state") or {}) for c in status["containerStatuses"])


def _read(cluster: Cluster, *paths: str) -> list[str]:
    out = cluster.kubelet.node("cat", *paths)
    assert out.returncode == 0, out.stderr
    return str(out.stdout).split()


def _weight(shares: int) -> str:
    return str(1 + ((shares - 2) * 9999) // 262142)  # cgroup v2's cpu.weight for v1 shares, as runc converts


def _cgroup_limits(cluster: Cluster, cgroup: str) -> tuple[str, str, str, str]:
    """(cfs quota, cfs period, memory limit, cpu shares or weight) of ``cgroup`` (below the roots), v1 or v2."""
    if cluster.kubelet.node("test", "-f", "/sys/fs/cgroup/cgroup.controllers").returncode == 0:
        root = f"/sys/fs/cgroup/{cgroup}"
        quota, period, memory, weight = _read(cluster, f"{root}/cpu.max", f"{root}/memory.max", f"{root}/cpu.weight")
        return quota.replace("max", "-1"), period, memory.replace("max", "unlimited"), weight
    quota, period, shares = _read(cluster, f"/sys/fs/cgroup/cpu/{cgroup}/cpu.cfs_quota_us",
                                  f"/sys/fs/cgroup/cpu/{cgroup}/cpu.cfs_period_us",
                                  f"/sys/fs/cgroup/cpu/{cgroup}/cpu.shares")
    (memory,) = _read(cluster, f"/sys/fs/cgroup/memory/{cgroup}/memory.limit_in_bytes")
    return quota, period, "unlimited" if int(memory) >= 2**62 else memory, shares


def test_qos_classes_and_their_cgroups(pods: Pods, cluster: Cluster) -> None:
    guaranteed = {"limits": {"cpu": "250m", "memory": "64Mi"}}
    pods.pod("qos-guaranteed", {"name": "app", "command": SLEEP, "resources": guaranteed})
    pods.pod("qos-burstable", {"name": "app", "command": SLEEP, "resources": {"requests": {"cpu": "100m"}}})
    pods.pod("qos-besteffort", {"name": "app", "command": SLEEP})
    v2 = cluster.kubelet.node("test", "-f", "/sys/fs/cgroup/cgroup.controllers").returncode == 0
    shares = {n: _weight(n) if v2 else str(n) for n in (256, 102, 2)}  # 250m, 100m, none: the minimum
    expected = {"qos-guaranteed": ("Guaranteed", "", ("25000", "100000", str(64 * 1024 * 1024), shares[256])),
                "qos-burstable": ("Burstable", "/burstable", ("-1", "100000", "unlimited", shares[102])),
                "qos-besteffort": ("BestEffort", "/besteffort", ("-1", "100000", "unlimited", shares[2]))}
    for name, (qos, tier, limits) in expected.items():
        pods.wait_status(name, "Running")
        pod = pods.json(name)
        assert pod["status"]["qosClass"] == qos
        assert f"QoS Class:                   {qos}" in pods.describe(name)
        uid = pod["metadata"]["uid"]
        container_id = pod["status"]["containerStatuses"][0]["containerID"].split("://", 1)[1]
        # The container's cgroup is the pod's, under its QoS tier of kubepods/ (the cgroupfs layout); the pod's
        # own cgroup holds the pod-wide limits (one container here: the same).
        assert _cgroup_limits(cluster, f"kubepods{tier}/pod{uid}/{container_id}") == limits, name
        assert _cgroup_limits(cluster, f"kubepods{tier}/pod{uid}") == limits, name
    # The BestEffort tier itself has the minimum cpu share, as upstream's QoS manager sets it.
    tier_file = "kubepods/besteffort/cpu.weight" if v2 else "cpu/kubepods/besteffort/cpu.shares"
    assert _read(cluster, f"/sys/fs/cgroup/{tier_file}") == [shares[2]]
    # Seen from inside, the container's own cgroup holds the same limits.
    if v2:
        inside = pods.exec("qos-guaranteed", "cat", "/sys/fs/cgroup/cpu.max", "/sys/fs/cgroup/memory.max")
    else:
        inside = pods.exec("qos-guaranteed", "cat", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
                           "/sys/fs/cgroup/memory/memory.limit_in_bytes")
    assert inside.split() in (["25000", "100000", str(64 * 1024 * 1024)], ["25000", str(64 * 1024 * 1024)])


def _cap_eff(pods: Pods, pod: str, container: str) -> int:
    status = pods.exec(pod, "cat", "/proc/self/status", container=container)
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("CapEff:")), 16)


def test_privileged_container_has_every_capability_and_the_host_devices(pods: Pods, cluster: Cluster) -> None:
    pods.pod("privileged", {"name": "priv", "command": SLEEP, "securityContext": {"privileged": True}},
             {"name": "plain", "command": SLEEP})
    pods.wait_status("privileged", "Running")
    # Every capability the node itself may hold (its bounding set: a machine may lack some, as this one can).
    status = cluster.kubelet.node("cat", "/proc/1/status").stdout
    bounding = int(next(line.split()[1] for line in status.splitlines() if line.startswith("CapBnd:")), 16)
    assert _cap_eff(pods, "privileged", "priv") == bounding
    plain = _cap_eff(pods, "privileged", "plain")
    assert plain & (1 << 21) == 0 and plain & (1 << 12) == 0  # no CAP_SYS_ADMIN, no CAP_NET_ADMIN
    assert plain & (1 << 0) and plain & (1 << 10)  # the runtime's defaults: CAP_CHOWN, CAP_NET_BIND_SERVICE
    priv_dev = set(pods.exec("privileged", "ls", "/dev", container="priv").split())
    plain_dev = set(pods.exec("privileged", "ls", "/dev", container="plain").split())
    assert {"null", "zero", "urandom"} <= plain_dev < priv_dev
    assert "kmsg" in priv_dev and "kmsg" not in plain_dev
    # Only a privileged container may write to /sys.
    assert "ok" in pods.exec("privileged", "sh", "-c", "mount -o remount,rw /sys && echo ok", container="priv")


def _resolv(pods: Pods, name: str) -> list[str]:
    return [line.strip() for line in pods.exec(name, "cat", "/etc/resolv.conf").splitlines() if line.strip()]


def _node_resolv(cluster: Cluster) -> list[str]:
    text = cluster.kubelet.node("cat", "/etc/resolv.conf").stdout
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith(("#", ";"))]


def test_dns_policies(pods: Pods, cluster: Cluster) -> None:
    pods.pod("dns-default", {"name": "app", "command": SLEEP}, dnsPolicy="Default")
    pods.pod("dns-cluster", {"name": "app", "command": SLEEP})
    pods.pod("dns-none", {"name": "app", "command": SLEEP}, dnsPolicy="None",
             dnsConfig={"nameservers": ["192.0.2.53"], "searches": ["corp.example"],
                        "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]})
    for name in ("dns-default", "dns-cluster", "dns-none"):
        pods.wait_status(name, "Running")
    # Default: the node's resolver configuration (the kubelet's resolv-conf, /etc/resolv.conf here).
    node = _node_resolv(cluster)
    assert [line for line in _resolv(pods, "dns-default") if line.startswith("nameserver")] == \
        [line for line in node if line.startswith("nameserver")]
    assert _resolv(pods, "dns-cluster") == [
        f"search {NS}.svc.cluster.local svc.cluster.local cluster.local", "nameserver 10.96.0.10",
        "options ndots:5"]
    assert _resolv(pods, "dns-none") == ["search corp.example", "nameserver 192.0.2.53",
                                         "options ndots:2 edns0"]
    # None without nameservers is refused by the API server (validation, as upstream).
    bad = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "dns-none-bad"},
           "spec": {"dnsPolicy": "None", "containers": [{"name": "app", "image": "busybox:1.36"}]}}
    out = pods.kubectl("apply", "-f", "-", input=json.dumps(bad), check=False)
    assert out.returncode != 0
    assert "spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None" in out.stderr


def test_sandbox_the_runtime_cannot_create(pods: Pods) -> None:
    rc = {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": "podspec-nosuch"},
          "handler": "nosuch"}
    pods.apply(rc)
    try:
        pods.pod("bad-runtime", {"name": "app", "command": SLEEP}, runtimeClassName="podspec-nosuch")
        events = pods.wait_event("bad-runtime", "FailedCreatePodSandBox", timeout=60)
        assert 'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to get sandbox runtime: ' \
               'no runtime for "nosuch" is configured' in " ".join(events.split())
        assert "Warning FailedCreatePodSandBox" in " ".join(pods.describe("bad-runtime").split())
        assert pods.status("bad-runtime") == "ContainerCreating"
        pods.delete("bad-runtime")
    finally:
        pods.c.kubectl("delete", "runtimeclass", "podspec-nosuch", "--ignore-not-found")
