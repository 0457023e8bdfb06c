"""cgroup resources and the security context, as upstream computes them."""

from __future__ import annotations

import pytest

from pyk8s.kubelet.kuberuntime import resources, security

from .conftest import ctr, make_pod

GIB = 2**30


@pytest.mark.parametrize(("res", "shares", "quota", "period", "memory"), [
    ({}, 2, 0, 0, 0),
    ({"requests": {"cpu": "100m"}}, 102, 0, 0, 0),
    ({"requests": {"cpu": "1m"}}, 2, 0, 0, 0),
    ({"limits": {"cpu": "500m"}}, 512, 50000, 100000, 0),
    ({"requests": {"cpu": "250m"}, "limits": {"cpu": "2", "memory": "128Mi"}}, 256, 200000, 100000, 128 * 2**20),
    ({"limits": {"cpu": "1m"}}, 2, 1000, 100000, 0),
])
def test_linux_resources(res: dict, shares: int, quota: int, period: int, memory: int) -> None:
    c = ctr("app", resources=res)
    out = resources.linux_resources(make_pod(containers=[c]), c, memory_capacity=8 * GIB)
    assert (out.cpu_shares, out.cpu_quota, out.cpu_period, out.memory_limit_in_bytes) == (shares, quota, period, memory)


def test_oom_score_adj_by_qos() -> None:
    guaranteed = ctr("a", resources={"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}})
    assert resources.oom_score_adj(make_pod(containers=[guaranteed]), guaranteed, 8 * GIB) == -997
    best = ctr("a")
    assert resources.oom_score_adj(make_pod(containers=[best]), best, 8 * GIB) == 1000
    burst = ctr("a", resources={"requests": {"memory": "2Gi"}})
    assert resources.oom_score_adj(make_pod(containers=[burst]), burst, 8 * GIB) == 750
    huge = ctr("a", resources={"requests": {"memory": "8Gi"}})
    assert resources.oom_score_adj(make_pod(containers=[huge]), huge, 8 * GIB) == 3
    tiny = ctr("a", resources={"requests": {"cpu": "1m"}})
    assert resources.oom_score_adj(make_pod(containers=[tiny]), tiny, 8 * GIB) == 999
    assert resources.linux_resources(make_pod(containers=[guaranteed]), guaranteed, cfs_quota=False).cpu_quota == 0
    sidecar = ctr("proxy", restartPolicy="Always", resources={"requests": {"memory": "1Gi"}})
    pod = make_pod(init=[sidecar], containers=[burst])
    assert resources.oom_score_adj(pod, sidecar, 8 * GIB) == 750  # not 875: no likelier OOM victim than the app


def test_effective_security_context_merges_pod_and_container() -> None:
    c = ctr("a", securityContext={"runAsUser": 1000, "privileged": True, "readOnlyRootFilesystem": True,
                                  "allowPrivilegeEscalation": False,
                                  "capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]}})
    pod = make_pod(containers=[c], securityContext={"runAsUser": 5, "runAsGroup": 3000, "fsGroup": 2000,
                                                    "supplementalGroups": [4000]})
    sec = security.effective(pod, c)
    assert (sec.run_as_user, sec.run_as_group, sec.supplemental_groups) == (1000, 3000, [2000, 4000])
    assert sec.privileged and sec.readonly_rootfs and sec.no_new_privs
    assert (sec.capabilities_add, sec.capabilities_drop) == (["NET_ADMIN"], ["ALL"])
    assert not security.effective(make_pod(), ctr("a", securityContext={"allowPrivilegeEscalation": True})).no_new_privs


@pytest.mark.parametrize(("sc", "uid", "user", "message"), [
    ({"runAsNonRoot": True, "runAsUser": 0}, None, "",
     'container\'s runAsUser breaks non-root policy (pod: "web_default(uid-1)", container: app)'),
    ({"runAsNonRoot": True}, 0, "",
     'container has runAsNonRoot and image will run as root (pod: "web_default(uid-1)", container: app)'),
    ({"runAsNonRoot": True}, None, "nginx",
     "container has runAsNonRoot and image has non-numeric user (nginx), cannot verify user is non-root "
     '(pod: "web_default(uid-1)", container: app)'),
    ({"runAsNonRoot": True}, 101, "", None),
    ({"runAsNonRoot": True, "runAsUser": 7}, 0, "", None),
    ({}, 0, "", None),
])
def test_run_as_non_root(sc: dict, uid: int | None, user: str, message: str | None) -> None:
    c = ctr("app", securityContext=sc)
    sec = security.effective(make_pod(containers=[c]), c)
    assert security.verify_run_as_non_root("web_default(uid-1)", "app", sec, uid, user) == message
