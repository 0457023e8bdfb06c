"""Upstream's bootstrap APF objects (kube-apiserver v1.32): the mandatory priority levels and flow
schemas ``exempt`` and ``catch-all``, and the suggested ones.  The API server creates any that are
missing at start (``apiserver/bootstrap.py``), annotated ``apf.kubernetes.io/autoupdate-spec: "true"``
as upstream's ensurer leaves them.  See ``flowcontrol_v1.py``: they are stored, not enforced.
"""

from __future__ import annotations

import copy
from typing import Any

from pyk8s.api.flowcontrol_v1 import GROUP

Obj = dict[str, Any]
AUTOUPDATE = "apf.kubernetes.io/autoupdate-spec"
API_VERSION = f"{GROUP}/v1"
ALL = ["*"]


def _meta(name: str) -> Obj:
    return {"name": name, "annotations": {AUTOUPDATE: "true"}}


def _limited(name: str, shares: int, lendable: int, queues: tuple[int, int, int] | None) -> Obj:
    response: Obj = {"type": "Reject"}
    if queues is not None:
        response = {"type": "Queue", "queuing": {"queues": queues[0], "handSize": queues[1],
                                                   "queueLengthLimit": queues[2]}}
    return {"apiVersion": API_VERSION, "kind": "PriorityLevelConfiguration", "metadata": _meta(name),
            "spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": shares, "lendablePercent": lendable,
                                                     "limitResponse": response}}}


def _group(name: str) -> Obj:
    return {"kind": "Group", "group": {"name": name}}


def _user(name: str) -> Obj:
    return {"kind": "User", "user": {"name": name}}


def _sa(namespace: str, name: str) -> Obj:
    return {"kind": "ServiceAccount", "serviceAccount": {"namespace": namespace, "name": name}}


def _resources(verbs: list[str], groups: list[str], resources: list[str], *, cluster: bool = True,
               namespaces: list[str] | None = None) -> Obj:
    rule: Obj = {"verbs": verbs, "apiGroups": groups, "resources": resources}
    if cluster:
        rule["clusterScope"] = True
    rule["namespaces"] = namespaces if namespaces is not None else ALL
    return rule


def _all_rule(subjects: list[Obj]) -> Obj:
    return {"subjects": subjects, "resourceRules": [_resources(ALL, ALL, ALL)],
            "nonResourceRules": [{"verbs": ALL, "nonResourceURLs": ALL}]}


def _schema(name: str, level: str, precedence: int, method: str | None, rules: list[Obj]) -> Obj:
    spec: Obj = {"priorityLevelConfiguration": {"name": level}, "matchingPrecedence": precedence, "rules": rules}
    if method:
        spec["distinguisherMethod"] = {"type": method}
    return {"apiVersion": API_VERSION, "kind": "FlowSchema", "metadata": _meta(name), "spec": spec}


_LEADER_ELECTION_RULES = [
    _resources(["get", "create", "update"], [""], ["endpoints", "configmaps"], cluster=False, namespaces=["kube-system"]),
    _resources(["get", "create", "update"], ["coordination.k8s.io"], ["leases"], cluster=False,
               namespaces=["kube-system"]),
]

PRIORITY_LEVELS: tuple[Obj, ...] = (
    {"apiVersion": API_VERSION, "kind": "PriorityLevelConfiguration", "metadata": _meta("exempt"),
     "spec": {"type": "Exempt", "exempt": {"nominalConcurrencyShares": 0, "lendablePercent": 0}}},
    _limited("catch-all", 5, 0, None),
    _limited("system", 30, 33, (64, 6, 50)),
    _limited("node-high", 40, 25, (64, 6, 50)),
    _limited("leader-election", 10, 0, (16, 4, 50)),
    _limited("workload-high", 40, 50, (128, 6, 50)),
    _limited("workload-low", 100, 90, (128, 6, 50)),
    _limited("global-default", 20, 50, (128, 6, 50)),
)

FLOW_SCHEMAS: tuple[Obj, ...] = (
    _schema("exempt", "exempt", 1, None, [_all_rule([_group("system:masters")])]),
    _schema("probes", "exempt", 2, None, [{
        "subjects": [_group("system:unauthenticated"), _group("system:authenticated")],
        "nonResourceRules": [{"verbs": ["get"], "nonResourceURLs": ["/healthz", "/readyz", "/livez"]}]}]),
    _schema("system-leader-election", "leader-election", 100, "ByUser", [{
        "subjects": [_user("system:kube-controller-manager"), _user("system:kube-scheduler"),
                     _sa("kube-system", "*")],
        "resourceRules": _LEADER_ELECTION_RULES}]),
    _schema("endpoint-controller", "workload-high", 150, "ByUser", [{
        "subjects": [_user("system:kube-controller-manager"), _sa("kube-system", "endpoint-controller")],
        "resourceRules": [_resources(["get", "create", "update"], [""], ["endpoints"])]}]),
    _schema("workload-leader-election", "leader-election", 200, "ByUser", [{
        "subjects": [_sa("*", "*")],
        "resourceRules": [_resources(["get", "create", "update"], [""], ["endpoints", "configmaps"]),
                          _resources(["get", "create", "update"], ["coordination.k8s.io"], ["leases"])]}]),
    _schema("system-node-high", "node-high", 400, "ByUser", [{
        "subjects": [_group("system:nodes")],
        "resourceRules": [_resources(ALL, [""], ["nodes", "nodes/status"]),
                          _resources(ALL, ["coordination.k8s.io"], ["leases"])]}]),
    _schema("system-nodes", "system", 500, "ByUser", [_all_rule([_group("system:nodes")])]),
    _schema("kube-controller-manager", "workload-high", 800, "ByNamespace",
            [_all_rule([_user("system:kube-controller-manager")])]),
    _schema("kube-scheduler", "workload-high", 800, "ByNamespace", [_all_rule([_user("system:kube-scheduler")])]),
    _schema("kube-system-service-accounts", "workload-high", 900, "ByNamespace",
            [_all_rule([_sa("kube-system", "*")])]),
    _schema("service-accounts", "workload-low", 9000, "ByUser", [_all_rule([_group("system:serviceaccounts")])]),
    _schema("global-default", "global-default", 9900, "ByUser",
            [_all_rule([_group("system:unauthenticated"), _group("system:authenticated")])]),
    _schema("catch-all", "catch-all", 10000, "ByUser",
            [_all_rule([_group("system:unauthenticated"), _group("system:authenticated")])]),
)


def default_objects() -> list[tuple[str, Obj]]:
    """(plural, object) for every default, priority levels first (fresh copies)."""
    return ([("prioritylevelconfigurations", copy.deepcopy(pl)) for pl in PRIORITY_LEVELS]
            + [("flowschemas", copy.deepcopy(fs)) for fs in FLOW_SCHEMAS])
