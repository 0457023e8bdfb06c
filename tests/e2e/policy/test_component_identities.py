"""Every component of a running ``pyk8s server`` runs under its own identity, never as ``system:masters``.

The server logs, for each client a component makes, the user and groups its credentials name
(``identity: <component> user=<user> groups=<groups>``, ``pyk8s/daemons/identity.py``); this test reads
that list from the shared policy cluster (controller manager, scheduler, two simulated nodes), checks each
one against upstream's (each controller as its kube-system ServiceAccount, the token controller as the
manager, each simulated node as ``system:node:<name>`` in ``system:nodes``), and checks that the
identities work: the nodes are Ready with the admission's ``not-ready`` taint lifted, and a pod runs.
Upstream itself runs nothing of these as ``system:masters`` (only kube-apiserver's loopback client and
the aggregator's discovery check, both inside the API server here too), so none may be.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from pyk8s.apiserver.authorization import identities
from pyk8s.client.kubeconfig import load_kubeconfig
from pyk8s.controllers.manager import select_controllers
from pyk8s.daemons import identity
from pyk8s.testing.cluster import ServerProcess
from tests.e2e.helpers import wait_until

from .conftest import apply, get

LINE = re.compile(r"identity: (\S+) user=(\S*) groups=(\S*)")
MASTERS = "system:masters"
SA_GROUPS = "system:serviceaccounts,system:serviceaccounts:kube-system"


def logged(srv: ServerProcess) -> dict[str, tuple[str, str]]:
    """component -> (user, groups), the last the log says."""
    text = Path(srv.log_path).read_text(errors="replace")
    return {m.group(1): (m.group(2), m.group(3)) for m in LINE.finditer(text)}


def expected() -> dict[str, tuple[str, str]]:
    want = {"controller-manager": ("system:kube-controller-manager", ""),
            "scheduler": ("system:kube-scheduler", ""),
            "simulated-nodes": ("system:node:sim-0", "system:nodes")}
    for node in ("sim-0", "sim-1"):
        want[f"simulated-nodes/{node}"] = (f"system:node:{node}", "system:nodes")
    for controller in select_controllers(["*"]):
        if controller in identities.MANAGER_CONTROLLERS:
            want[f"controller-manager/{controller}"] = ("system:kube-controller-manager", "")
        else:
            account = identities.CONTROLLER_ACCOUNTS[controller]
            want[f"controller-manager/{controller}"] = (identities.account_user(account), SA_GROUPS)
    return want


def test_no_component_runs_as_system_masters(policy_cluster: ServerProcess) -> None:
    srv = policy_cluster
    want = expected()
    wait_until(lambda: set(want) <= set(logged(srv)), timeout=120, what="every component's identity logged")
    seen = logged(srv)
    assert {c: seen[c] for c in want} == want
    assert not [c for c, (_, groups) in seen.items() if MASTERS in groups.split(",")]
    assert "runs with the admin's" not in Path(srv.log_path).read_text(errors="replace")
    # The two controllers whose user names are too long for a certificate run on TokenRequest tokens,
    # and their tokens work: the aggregation controller fills an aggregated role.
    for controller in ("endpointslice-mirroring-controller", "clusterrole-aggregation-controller"):
        assert seen[f"controller-manager/{controller}"][0].endswith(identities.CONTROLLER_ACCOUNTS[controller])
    apply(srv, """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: identity-aggregate}
aggregationRule:
  clusterRoleSelectors: [{matchLabels: {identity-check: "yes"}}]
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: identity-part, labels: {identity-check: "yes"}}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]
""")
    wait_until(lambda: get(srv, "clusterrole", "identity-aggregate").get("rules"), timeout=60,
               what="the aggregated role filled by clusterrole-aggregation-controller")
    srv.kubectl("delete", "clusterrole", "identity-aggregate", "identity-part")


def test_every_kubeconfig_the_server_writes_names_its_own_user(policy_cluster: ServerProcess) -> None:
    """The credentials of components not running in this cluster (kubelet, proxy, DNS, ingress) too."""
    data = Path(policy_cluster.data_dir)
    users = {}
    for path in sorted(data.rglob("*.kubeconfig")):
        if path.name == "admin.kubeconfig":
            continue
        users[str(path.relative_to(data))] = identity.of(load_kubeconfig(str(path)))
    assert users["kubelet.kubeconfig"][1] == ("system:nodes",)
    assert users["kube-proxy.kubeconfig"] == ("system:kube-proxy", ())
    assert users["simulated-nodes/sim-1.kubeconfig"] == ("system:node:sim-1", ("system:nodes",))
    assert [p for p, (_, groups) in users.items() if MASTERS in groups] == []
    admin = yaml.safe_load((data / "admin.kubeconfig").read_text())
    assert admin["users"][0]["name"] == "kubernetes-admin"  # the only system:masters credential: the user's


def test_simulated_nodes_work_as_nodes(policy_cluster: ServerProcess) -> None:
    srv = policy_cluster

    def untainted_ready() -> bool:
        nodes = get(srv, "nodes")["items"]
        return len(nodes) == 2 and all(
            not (n.get("spec") or {}).get("taints") and
            any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"]) for n in nodes)

    wait_until(untainted_ready, timeout=90, what="both simulated nodes Ready, the not-ready taint lifted")
    srv.kubectl("create", "namespace", "identity-check")
    wait_until(lambda: "default" in srv.kubectl("get", "serviceaccounts", "-n", "identity-check", "-o", "name",
                                                check=False).stdout, timeout=60, what="the default ServiceAccount")
    apply(srv, """
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: identity-check}
spec:
  containers: [{name: c, image: busybox}]
""")
    wait_until(lambda: get(srv, "pod", "p", "-n", "identity-check")["status"].get("phase") == "Running",
               timeout=90, what="the pod running on a simulated node")
    leases = get(srv, "leases", "-n", "kube-node-lease")["items"]
    assert {lease["metadata"]["name"] for lease in leases} >= {"sim-0", "sim-1"}
    # Gone before the module's next test: its pod on a simulated node would block test_disruption_drain's drain.
    srv.kubectl("delete", "namespace", "identity-check", "--timeout=120s")
