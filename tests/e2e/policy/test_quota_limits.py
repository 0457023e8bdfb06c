"""ResourceQuota and LimitRange through real kubectl: counts and compute enforced with upstream's
exact messages, status kept by the controller, LimitRange defaults visible on created pods."""

from __future__ import annotations

from pyk8s.testing.cluster import ServerProcess
from tests.e2e.helpers import wait_until

from .conftest import apply, get


def quota_ready(srv: ServerProcess, ns: str, name: str, used: dict[str, str]) -> bool:
    status = get(srv, "resourcequota", name, "-n", ns).get("status") or {}
    return status.get("used") == used


def test_pod_count_quota(policy_cluster: ServerProcess) -> None:
    srv = policy_cluster
    srv.kubectl("create", "namespace", "quota-count")
    srv.kubectl("create", "quota", "compute-resources", "-n", "quota-count", "--hard=pods=2,configmaps=5")
    wait_until(lambda: quota_ready(srv, "quota-count", "compute-resources", {"pods": "0", "configmaps": "1"}),
               what="quota status (kube-root-ca.crt counted)")
    for name in ("a", "b"):
        srv.kubectl("run", name, "-n", "quota-count", "--image=busybox", "--restart=Never")
    refused = srv.kubectl("run", "c", "-n", "quota-count", "--image=busybox", "--restart=Never", check=False)
    assert refused.returncode != 0
    assert refused.stderr.strip() == ('Error from server (Forbidden): pods "c" is forbidden: exceeded quota: '
                                      'compute-resources, requested: pods=1, used: pods=2, limited: pods=2')
    described = srv.kubectl("describe", "quota", "compute-resources", "-n", "quota-count").stdout
    assert "pods        2     2" in described
    srv.kubectl("delete", "pod", "a", "-n", "quota-count", "--wait=false", "--grace-period=0", "--force")
    wait_until(lambda: get(srv, "resourcequota", "compute-resources", "-n", "quota-count")["status"]["used"]["pods"]
               == "1", what="pods replenished")
    srv.kubectl("run", "c", "-n", "quota-count", "--image=busybox", "--restart=Never")


def test_compute_quota_requires_requests_and_limit_range_supplies_them(policy_cluster: ServerProcess) -> None:
    srv = policy_cluster
    srv.kubectl("create", "namespace", "quota-compute")
    srv.kubectl("create", "quota", "compute", "-n", "quota-compute",
                "--hard=requests.cpu=1,limits.cpu=2,requests.memory=1Gi,count/deployments.apps=1")
    wait_until(lambda: quota_ready(srv, "quota-compute", "compute", {"requests.cpu": "0", "limits.cpu": "0",
                                                                     "requests.memory": "0",
                                                                     "count/deployments.apps": "0"}),
               what="quota status")
    refused = srv.kubectl("run", "bare", "-n", "quota-compute", "--image=busybox", "--restart=Never", check=False)
    assert refused.stderr.strip() == ('Error from server (Forbidden): pods "bare" is forbidden: failed quota: '
                                      'compute: must specify limits.cpu for: bare; requests.cpu for: bare; '
                                      'requests.memory for: bare')
    apply(srv, """
apiVersion: v1
kind: LimitRange
metadata: {name: defaults, namespace: quota-compute}
spec:
  limits:
  - type: Container
    default: {cpu: 500m, memory: 256Mi}
    defaultRequest: {cpu: 300m, memory: 128Mi}
    max: {cpu: "1"}
""")
    srv.kubectl("run", "defaulted", "-n", "quota-compute", "--image=busybox", "--restart=Never")
    pod = get(srv, "pod", "defaulted", "-n", "quota-compute")
    assert pod["spec"]["containers"][0]["resources"] == {"limits": {"cpu": "500m", "memory": "256Mi"},
                                                         "requests": {"cpu": "300m", "memory": "128Mi"}}
    assert pod["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu, memory request for container defaulted; "
        "cpu, memory limit for container defaulted")
    for name in ("d2", "d3"):
        srv.kubectl("run", name, "-n", "quota-compute", "--image=busybox", "--restart=Never")
    refused = srv.kubectl("run", "d4", "-n", "quota-compute", "--image=busybox", "--restart=Never", check=False)
    assert refused.stderr.strip() == ('Error from server (Forbidden): pods "d4" is forbidden: exceeded quota: '
                                      'compute, requested: requests.cpu=300m, used: requests.cpu=900m, '
                                      'limited: requests.cpu=1')
    too_big = srv.kubectl("run", "big", "-n", "quota-compute", "--image=busybox", "--restart=Never",
                          "--overrides", '{"spec":{"containers":[{"name":"big","image":"busybox",'
                          '"resources":{"limits":{"cpu":"2"}}}]}}', check=False)
    assert too_big.stderr.strip() == ('Error from server (Forbidden): pods "big" is forbidden: maximum cpu usage '
                                      'per Container is 1, but limit is 2')
    srv.kubectl("create", "deployment", "one", "-n", "quota-compute", "--image=busybox")
    second = srv.kubectl("create", "deployment", "two", "-n", "quota-compute", "--image=busybox", check=False)
    assert second.stderr.strip() == (
        'error: failed to create deployment: deployments.apps "two" is forbidden: exceeded quota: compute, '
        'requested: count/deployments.apps=1, used: count/deployments.apps=1, limited: count/deployments.apps=1')
