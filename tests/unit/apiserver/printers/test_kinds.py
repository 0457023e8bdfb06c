"""Columns and cells of the non-Pod kinds, checked against kubectl's rules."""

from datetime import UTC, datetime
from typing import Any

import pytest

from pyk8s.apiserver.printers import to_table
from pyk8s.machinery.scheme import ResourceType

NOW = datetime(2026, 1, 10, 12, 0, 0, tzinfo=UTC)
CREATED = "2026-01-10T11:00:00Z"  # 60m before NOW


def rt(group: str, kind: str, namespaced: bool = True) -> ResourceType:
    return ResourceType(group, "v1", kind, kind.lower() + "s", kind.lower(), namespaced)


def meta(name: str = "x", **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": "default", "creationTimestamp": CREATED, **extra}


def table(group: str, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    obj.setdefault("metadata", meta())
    return to_table(rt(group, kind), [obj], now=NOW)


def row(group: str, kind: str, obj: dict[str, Any]) -> list[Any]:
    return table(group, kind, obj)["rows"][0]["cells"]


def headers(group: str, kind: str) -> list[str]:
    cols = table(group, kind, {})["columnDefinitions"]
    return [c["name"] + ("(w)" if c["priority"] else "") for c in cols]


@pytest.mark.parametrize(
    ("group", "kind", "expected"),
    [
        ("apps", "Deployment", "Name Ready Up-to-date Available Age Containers(w) Images(w) Selector(w)"),
        ("apps", "ReplicaSet", "Name Desired Current Ready Age Containers(w) Images(w) Selector(w)"),
        ("apps", "StatefulSet", "Name Ready Age Containers(w) Images(w)"),
        (
            "apps",
            "DaemonSet",
            "Name Desired Current Ready Up-to-date Available Node_Selector Age Containers(w) Images(w) Selector(w)",
        ),
        ("batch", "Job", "Name Status Completions Duration Age Containers(w) Images(w) Selector(w)"),
        (
            "batch",
            "CronJob",
            "Name Schedule Timezone Suspend Active Last_Schedule Age Containers(w) Images(w) Selector(w)",
        ),
        ("", "Service", "Name Type Cluster-IP External-IP Port(s) Age Selector(w)"),
        (
            "",
            "Node",
            "Name Status Roles Age Version Internal-IP(w) External-IP(w) OS-Image(w) Kernel-Version(w) Container-Runtime(w)",
        ),
        ("", "Namespace", "Name Status Age"),
        ("", "ConfigMap", "Name Data Age"),
        ("", "Secret", "Name Type Data Age"),
        ("", "ServiceAccount", "Name Secrets Age"),
        ("", "Event", "Last_Seen Type Reason Object Subobject(w) Source(w) Message First_Seen(w) Count(w) Name(w)"),
        ("", "Endpoints", "Name Endpoints Age"),
        ("networking.k8s.io", "Ingress", "Name Class Hosts Address Ports Age"),
        (
            "",
            "PersistentVolumeClaim",
            "Name Status Volume Capacity Access_Modes StorageClass VolumeAttributesClass Age VolumeMode(w)",
        ),
        (
            "",
            "PersistentVolume",
            "Name Capacity Access_Modes Reclaim_Policy Status Claim StorageClass VolumeAttributesClass Reason Age VolumeMode(w)",
        ),
        ("coordination.k8s.io", "Lease", "Name Holder Age"),
        ("discovery.k8s.io", "EndpointSlice", "Name AddressType Ports Endpoints Age"),
        ("autoscaling", "HorizontalPodAutoscaler", "Name Reference Targets MinPods MaxPods Replicas Age"),
        ("rbac.authorization.k8s.io", "Role", "Name Created_At"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding", "Name Role Age Users(w) Groups(w) ServiceAccounts(w)"),
        ("", "LimitRange", "Name Created_At"),
        ("", "ResourceQuota", "Name Age Request Limit"),
        ("", "PodTemplate", "Name Containers Images Pod_Labels"),
        ("", "ReplicationController", "Name Desired Current Ready Age Containers(w) Images(w) Selector(w)"),
        ("policy", "PodDisruptionBudget", "Name Min_Available Max_Unavailable Allowed_Disruptions Age"),
        ("storage.k8s.io", "StorageClass", "Name Provisioner ReclaimPolicy VolumeBindingMode AllowVolumeExpansion Age"),
        ("networking.k8s.io", "IngressClass", "Name Controller Parameters Age"),
        ("networking.k8s.io", "NetworkPolicy", "Name Pod-Selector Age"),
        ("apps", "ControllerRevision", "Name Controller Revision Age"),
        ("example.com", "Widget", "Name Age"),
    ],
)
def test_columns(group: str, kind: str, expected: str) -> None:
    assert headers(group, kind) == [h.replace("_", " ") for h in expected.split()]


def test_every_row_has_one_cell_per_column() -> None:
    for group, kind in [("", "Pod"), ("apps", "Deployment"), ("", "Event"), ("", "Node"), ("batch", "CronJob")]:
        t = table(group, kind, {})
        assert len(t["rows"][0]["cells"]) == len(t["columnDefinitions"])


def test_deployment() -> None:
    d = {
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "spec": {"containers": [{"name": "a", "image": "nginx:1.24"}, {"name": "b", "image": "busybox"}]}
            },
        },
        "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 1},
    }
    assert row("apps", "Deployment", d) == ["x", "2/3", 3, 1, "60m", "a,b", "nginx:1.24,busybox", "app=web"]
    assert row("apps", "Deployment", {"spec": {"replicas": 1}})[1:4] == ["0/1", 0, 0]


def test_selector_expressions_sorted_by_key() -> None:
    sel = {
        "matchLabels": {"tier": "fe"},
        "matchExpressions": [
            {"key": "env", "operator": "In", "values": ["prod", "dev"]},
            {"key": "zz", "operator": "DoesNotExist"},
            {"key": "app", "operator": "Exists"},
            {"key": "k", "operator": "NotIn", "values": ["b", "a"]},
        ],
    }
    rs = {"spec": {"replicas": 2, "selector": sel}, "status": {"replicas": 2, "readyReplicas": 1}}
    assert row("apps", "ReplicaSet", rs) == [
        "x",
        2,
        2,
        1,
        "60m",
        "",
        "",
        "app,env in (dev,prod),k notin (a,b),tier=fe,!zz",
    ]


def test_statefulset_and_daemonset() -> None:
    assert row("apps", "StatefulSet", {"spec": {"replicas": 2}, "status": {"readyReplicas": 1}})[1] == "1/2"
    ds = {
        "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"spec": {"nodeSelector": {"os": "linux"}}}},
        "status": {
            "desiredNumberScheduled": 3,
            "currentNumberScheduled": 2,
            "numberReady": 1,
            "updatedNumberScheduled": 2,
            "numberAvailable": 1,
        },
    }
    assert row("apps", "DaemonSet", ds)[:8] == ["x", 3, 2, 1, 2, 1, "os=linux", "60m"]
    assert row("apps", "DaemonSet", {})[6] == "<none>"


@pytest.mark.parametrize(
    ("conditions", "deleting", "expected"),
    [
        ([{"type": "Complete", "status": "True"}], False, "Complete"),
        ([{"type": "Failed", "status": "True"}], False, "Failed"),
        ([{"type": "Complete", "status": "False"}], True, "Terminating"),
        ([{"type": "Suspended", "status": "True"}], False, "Suspended"),
        ([{"type": "FailureTarget", "status": "True"}], False, "FailureTarget"),
        ([{"type": "SuccessCriteriaMet", "status": "True"}], False, "SuccessCriteriaMet"),
        ([{"type": "Suspended", "status": "True"}, {"type": "Failed", "status": "True"}], False, "Failed"),
        ([], False, "Running"),
    ],
)
def test_job_status(conditions: list[dict[str, str]], deleting: bool, expected: str) -> None:
    m = meta(deletionTimestamp=CREATED) if deleting else meta()
    assert row("batch", "Job", {"metadata": m, "status": {"conditions": conditions}})[1] == expected


def test_job_completions_and_duration() -> None:
    done = {
        "spec": {"completions": 1, "selector": {"matchLabels": {"job-name": "x"}}},
        "status": {"succeeded": 1, "startTime": "2026-01-10T11:00:00Z", "completionTime": "2026-01-10T11:00:07Z"},
    }
    assert row("batch", "Job", done)[2:4] == ["1/1", "7s"]
    assert row("batch", "Job", done)[7] == "job-name=x"
    running = {"spec": {"parallelism": 3}, "status": {"succeeded": 0, "startTime": "2026-01-10T11:58:00Z"}}
    assert row("batch", "Job", running)[2:4] == ["0/1 of 3", "2m"]
    assert row("batch", "Job", {"spec": {}})[2:4] == ["0/1", ""]


def test_cronjob() -> None:
    cj = {
        "spec": {
            "schedule": "*/5 * * * *",
            "suspend": False,
            "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}}},
        },
        "status": {"active": [{"name": "j1"}], "lastScheduleTime": "2026-01-10T11:55:00Z"},
    }
    assert row("batch", "CronJob", cj) == [
        "x",
        "*/5 * * * *",
        "<none>",
        "False",
        1,
        "5m",
        "60m",
        "c",
        "busybox",
        "<none>",
    ]
    assert row("batch", "CronJob", {"spec": {"schedule": "@daily", "timeZone": "Etc/UTC"}})[2:6] == [
        "Etc/UTC",
        "<unset>",
        0,
        "<none>",
    ]


def test_service_cluster_ip_and_ports() -> None:
    svc = {
        "spec": {
            "type": "ClusterIP",
            "clusterIP": "10.96.0.10",
            "clusterIPs": ["10.96.0.10"],
            "ports": [{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}],
            "selector": {"app": "web", "a": "b"},
        }
    }
    assert row("", "Service", svc) == ["x", "ClusterIP", "10.96.0.10", "<none>", "80/TCP,53/UDP", "60m", "a=b,app=web"]


def test_service_external_ip_variants() -> None:
    nodeport = {
        "spec": {
            "type": "NodePort",
            "externalIPs": ["1.2.3.4"],
            "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}],
        }
    }
    assert row("", "Service", nodeport)[2:5] == ["<none>", "1.2.3.4", "80:30080/TCP"]
    lb_pending = {"spec": {"type": "LoadBalancer", "clusterIPs": ["10.96.0.2"]}}
    assert row("", "Service", lb_pending)[2:5] == ["10.96.0.2", "<pending>", "<none>"]
    lb = {
        "spec": {"type": "LoadBalancer"},
        "status": {"loadBalancer": {"ingress": [{"ip": "5.6.7.8"}, {"hostname": "lb.example"}]}},
    }
    assert row("", "Service", lb)[3] == "5.6.7.8,lb.example"
    lb_ext = {
        "spec": {"type": "LoadBalancer", "externalIPs": ["9.9.9.9"]},
        "status": {"loadBalancer": {"ingress": [{"ip": "5.6.7.8"}]}},
    }
    assert row("", "Service", lb_ext)[3] == "5.6.7.8,9.9.9.9"
    ext = {"spec": {"type": "ExternalName", "externalName": "db.example.com"}}
    assert row("", "Service", ext)[3] == "db.example.com"
    assert row("", "Service", {"spec": {}})[6] == "<none>"


def test_node_status_roles_and_wide() -> None:
    node = {
        "metadata": meta(
            labels={
                "node-role.kubernetes.io/worker": "",
                "node-role.kubernetes.io/control-plane": "",
                "kubernetes.io/role": "edge",
            }
        ),
        "spec": {"unschedulable": True},
        "status": {
            "conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
            "nodeInfo": {
                "kubeletVersion": "v1.32.0",
                "osImage": "Debian",
                "kernelVersion": "6.1",
                "containerRuntimeVersion": "containerd://1.6",
            },
            "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}],
        },
    }
    assert row("", "Node", node) == [
        "x",
        "Ready,SchedulingDisabled",
        "control-plane,edge,worker",
        "60m",
        "v1.32.0",
        "10.0.0.1",
        "<none>",
        "Debian",
        "6.1",
        "containerd://1.6",
    ]
    not_ready = {"status": {"conditions": [{"type": "Ready", "status": "False"}]}}
    assert row("", "Node", not_ready)[1:3] == ["NotReady", "<none>"]
    assert row("", "Node", {"status": {}})[1] == "Unknown"
    assert row("", "Node", {})[7:] == ["<unknown>", "<unknown>", "<unknown>"]


def test_simple_core_kinds() -> None:
    assert row("", "Namespace", {"status": {"phase": "Active"}}) == ["x", "Active", "60m"]
    assert row("", "ConfigMap", {"data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}}) == ["x", 3, "60m"]
    assert row("", "ConfigMap", {}) == ["x", 0, "60m"]
    assert row("", "Secret", {"type": "Opaque", "data": {"p": "cQ=="}}) == ["x", "Opaque", 1, "60m"]
    assert row("", "ServiceAccount", {"secrets": [{"name": "t"}]}) == ["x", 1, "60m"]
    assert row("", "LimitRange", {}) == ["x", "2026-01-10T11:00:00Z"]


def test_endpoints_limits_to_three() -> None:
    def ep(n: int) -> dict[str, Any]:
        return {"subsets": [{"addresses": [{"ip": f"10.0.0.{i}"} for i in range(1, n + 1)], "ports": [{"port": 80}]}]}

    assert row("", "Endpoints", ep(2))[1] == "10.0.0.1:80,10.0.0.2:80"
    assert row("", "Endpoints", ep(5))[1] == "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 2 more..."
    assert row("", "Endpoints", {})[1] == "<none>"
    headless = {"subsets": [{"addresses": [{"ip": "fd00::1"}]}]}
    assert row("", "Endpoints", headless)[1] == "fd00::1"
    v6 = {"subsets": [{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 443}]}]}
    assert row("", "Endpoints", v6)[1] == "[fd00::1]:443"


def test_event() -> None:
    ev = {
        "metadata": meta("web.123"),
        "type": "Warning",
        "reason": "BackOff",
        "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{c}"},
        "source": {"component": "kubelet", "host": "node1"},
        "message": " Back-off restarting \n",
        "firstTimestamp": "2026-01-10T11:00:00Z",
        "lastTimestamp": "2026-01-10T11:59:00Z",
        "count": 4,
    }
    assert row("", "Event", ev) == [
        "60s",
        "Warning",
        "BackOff",
        "pod/web",
        "spec.containers{c}",
        "kubelet, node1",
        "Back-off restarting",
        "60m",
        4,
        "web.123",
    ]
    new_style = {
        "eventTime": "2026-01-10T11:58:00.000000Z",
        "involvedObject": {"kind": "Node"},
        "reportingComponent": "ctl",
    }
    cells = row("", "Event", new_style)
    assert (cells[0], cells[3], cells[5], cells[7], cells[8]) == ("2m", "node", "ctl", "2m", 1)
    series = dict(new_style, series={"count": 7, "lastObservedTime": "2026-01-10T11:59:50.000000Z"})
    assert row("", "Event", series)[0] == "10s" and row("", "Event", series)[8] == 7


def test_ingress() -> None:
    ing = {
        "spec": {
            "ingressClassName": "nginx",
            "rules": [{"host": "a.com"}, {"host": "b.com"}],
            "tls": [{"hosts": ["a.com"]}],
        },
        "status": {"loadBalancer": {"ingress": [{"ip": "1.1.1.1"}]}},
    }
    assert row("networking.k8s.io", "Ingress", ing) == ["x", "nginx", "a.com,b.com", "1.1.1.1", "80, 443", "60m"]
    many = {"spec": {"rules": [{"host": f"h{i}.com"} for i in range(5)]}}
    assert row("networking.k8s.io", "Ingress", many)[1:5] == ["<none>", "h0.com,h1.com,h2.com + 2 more...", "", "80"]
    assert row("networking.k8s.io", "Ingress", {"spec": {"rules": [{}]}})[2] == "*"


def test_pvc_and_pv() -> None:
    pvc = {
        "spec": {"volumeName": "pv1", "storageClassName": "local", "volumeMode": "Filesystem"},
        "status": {"phase": "Bound", "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"]},
    }
    assert row("", "PersistentVolumeClaim", pvc) == [
        "x",
        "Bound",
        "pv1",
        "1Gi",
        "RWO,RWX",
        "local",
        "<unset>",
        "60m",
        "Filesystem",
    ]
    assert row("", "PersistentVolumeClaim", {"status": {"phase": "Pending"}})[1:5] == ["Pending", "", "", ""]
    pv = {
        "spec": {
            "capacity": {"storage": "5Gi"},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "claimRef": {"namespace": "default", "name": "c"},
            "storageClassName": "local",
        },
        "status": {"phase": "Bound"},
    }
    assert row("", "PersistentVolume", pv) == [
        "x",
        "5Gi",
        "RWO",
        "Retain",
        "Bound",
        "default/c",
        "local",
        "<unset>",
        "",
        "60m",
        "<unset>",
    ]


def test_hpa_pdb_lease_rbac() -> None:
    hpa = {
        "spec": {
            "scaleTargetRef": {"kind": "Deployment", "name": "web"},
            "minReplicas": 1,
            "maxReplicas": 5,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}},
                }
            ],
        },
        "status": {
            "currentReplicas": 2,
            "currentMetrics": [
                {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 10}}}
            ],
        },
    }
    assert row("autoscaling", "HorizontalPodAutoscaler", hpa) == [
        "x",
        "Deployment/web",
        "cpu: 10%/50%",
        "1",
        5,
        2,
        "60m",
    ]
    v1 = {
        "spec": {
            "scaleTargetRef": {"kind": "Deployment", "name": "web"},
            "maxReplicas": 3,
            "targetCPUUtilizationPercentage": 80,
        }
    }
    assert row("autoscaling", "HorizontalPodAutoscaler", v1)[2:4] == ["cpu: <unknown>/80%", "<unset>"]
    assert row(
        "policy", "PodDisruptionBudget", {"spec": {"minAvailable": "50%"}, "status": {"disruptionsAllowed": 1}}
    ) == ["x", "50%", "N/A", 1, "60m"]
    assert row("coordination.k8s.io", "Lease", {"spec": {"holderIdentity": "node1"}}) == ["x", "node1", "60m"]
    rb = {
        "roleRef": {"kind": "ClusterRole", "name": "admin"},
        "subjects": [
            {"kind": "User", "name": "alice"},
            {"kind": "User", "name": "bob"},
            {"kind": "Group", "name": "devs"},
            {"kind": "ServiceAccount", "name": "sa", "namespace": "ns"},
        ],
    }
    assert row("rbac.authorization.k8s.io", "RoleBinding", rb) == [
        "x",
        "ClusterRole/admin",
        "60m",
        "alice, bob",
        "devs",
        "ns/sa",
    ]


def test_storageclass_controllerrevision_quota_podtemplate() -> None:
    sc = {
        "metadata": meta("std", annotations={"storageclass.kubernetes.io/is-default-class": "true"}),
        "provisioner": "local",
    }
    assert row("storage.k8s.io", "StorageClass", sc) == ["std (default)", "local", "Delete", "Immediate", False, "60m"]
    cr = {
        "metadata": meta(
            ownerReferences=[{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "controller": True}]
        ),
        "revision": 2,
    }
    assert row("apps", "ControllerRevision", cr) == ["x", "statefulset.apps/web", 2, "60m"]
    quota = {
        "status": {
            "hard": {"pods": "10", "limits.cpu": "2", "requests.cpu": "1"},
            "used": {"pods": "3", "requests.cpu": "500m"},
        }
    }
    assert row("", "ResourceQuota", quota) == ["x", "60m", "pods: 3/10, requests.cpu: 500m/1", "limits.cpu: 0/2"]
    pt = {"template": {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}
    assert row("", "PodTemplate", pt) == ["x", "c", "i", "app=a"]
