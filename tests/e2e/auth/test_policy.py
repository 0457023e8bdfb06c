"""Escalation prevention, ClusterRole aggregation, the bootstrap policy, and the components under their own identity."""

from __future__ import annotations

import json
import time

import pytest

from tests.e2e.auth.conftest import NODE, NS, Cluster

ESCALATION = ('is forbidden: user "{user}" (groups=["system:authenticated"]) is attempting to grant RBAC '
              "permissions not currently held:\n")


@pytest.fixture(scope="module")
def owner(cluster: Cluster) -> str:
    """A namespace admin of NS (the admin role lets it write Roles and RoleBindings there)."""
    cluster.admin("create", "rolebinding", "owner-admin", "--clusterrole=admin", "--user=owner", "-n", NS)
    return cluster.users.kubeconfig("owner")


def test_role_granting_more_than_held_is_refused(cluster: Cluster, owner: str) -> None:
    out = cluster.users.kubectl(owner, "create", "role", "too-much", "--verb=get,list", "--resource=nodes,pods",
                                "-n", NS)
    assert out.returncode != 0
    assert ('roles.rbac.authorization.k8s.io "too-much" ' + ESCALATION.format(user="owner")
            + '{APIGroups:[""], Resources:["nodes"], Verbs:["get" "list"]}') in out.stderr, out.stderr
    assert cluster.users.kubectl(owner, "create", "role", "enough", "--verb=get,list", "--resource=pods",
                                 "-n", NS).returncode == 0


def test_binding_to_a_role_not_held_is_refused_unless_bind_is_allowed(cluster: Cluster, owner: str) -> None:
    out = cluster.users.kubectl(owner, "create", "rolebinding", "to-admin", "--clusterrole=cluster-admin",
                                "--user=someone", "-n", NS)
    assert ('rolebindings.rbac.authorization.k8s.io "to-admin" ' + ESCALATION.format(user="owner")
            + '{APIGroups:["*"], Resources:["*"], Verbs:["*"]}\n{NonResourceURLs:["*"], Verbs:["*"]}') in out.stderr
    cluster.admin("create", "clusterrole", "bind-cluster-admin", "--verb=bind", "--resource=clusterroles",
                  "--resource-name=cluster-admin")
    cluster.admin("create", "rolebinding", "owner-may-bind", "--clusterrole=bind-cluster-admin", "--user=owner",
                  "-n", NS)
    out = cluster.users.kubectl(owner, "create", "rolebinding", "to-admin", "--clusterrole=cluster-admin",
                                "--user=someone", "-n", NS)
    assert out.returncode == 0, out.stderr


def test_escalate_verb_allows_granting_more(cluster: Cluster) -> None:
    cluster.admin("create", "clusterrole", "role-writer", "--verb=create,escalate", "--resource=roles")
    cluster.admin("create", "rolebinding", "escalator-writes", "--clusterrole=role-writer", "--user=escalator",
                  "-n", NS)
    kc = cluster.users.kubeconfig("escalator")
    out = cluster.users.kubectl(kc, "create", "role", "big", "--verb=*", "--resource=secrets", "-n", NS)
    assert out.returncode == 0, out.stderr


def _rules_of(cluster: Cluster, role: str) -> list[dict[str, object]]:
    return json.loads(cluster.admin("get", "clusterrole", role, "-o", "json").stdout).get("rules") or []


def test_admin_edit_view_aggregate(cluster: Cluster) -> None:
    wanted = {"apiGroups": [""], "resources": ["podtemplates"], "verbs": ["get", "list", "watch"]}
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "podtemplate-viewer", "labels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}},
            "rules": [wanted]}
    cluster.admin("create", "-f", "-", input=json.dumps(role))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if all(wanted in _rules_of(cluster, r) for r in ("view", "edit", "admin")):
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"view/edit/admin did not aggregate podtemplates: {_rules_of(cluster, 'admin')}")
    cluster.admin("create", "rolebinding", "w-view", "--clusterrole=view", "--user=widgeteer", "-n", NS)
    out = cluster.users.kubectl(cluster.users.kubeconfig("widgeteer"), "auth", "can-i", "list", "podtemplates",
                                "-n", NS)
    assert out.stdout.strip() == "yes"
    assert any("secrets" in (r.get("resources") or []) for r in _rules_of(cluster, "edit"))
    assert not any("secrets" in (r.get("resources") or []) for r in _rules_of(cluster, "view"))


def test_bootstrap_policy_in_place(cluster: Cluster) -> None:
    crb = json.loads(cluster.admin("get", "clusterrolebinding", "cluster-admin", "-o", "json").stdout)
    assert crb["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:masters"}]
    assert crb["metadata"]["annotations"]["rbac.authorization.kubernetes.io/autoupdate"] == "true"
    node = json.loads(cluster.admin("get", "clusterrolebinding", "system:node", "-o", "json").stdout)
    assert not node.get("subjects")
    names = set(cluster.admin("get", "clusterroles", "-o", "name").stdout.split())
    for name in ("system:kube-scheduler", "system:kube-controller-manager", "system:node", "system:node-proxier",
                 "system:controller:deployment-controller", "system:public-info-viewer", "system:kube-dns"):
        assert f"clusterrole.rbac.authorization.k8s.io/{name}" in names


def test_kubectl_auth_reconcile(cluster: Cluster) -> None:
    doc = {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": "reconciled", "namespace": NS},
         "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": "reconciled", "namespace": NS},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reconciled"},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "rec"}]}]}
    out = cluster.admin("auth", "reconcile", "-f", "-", input=json.dumps(doc))
    assert "role.rbac.authorization.k8s.io/reconciled reconciled" in out.stdout
    out = cluster.users.kubectl(cluster.users.kubeconfig("rec"), "auth", "can-i", "get", "pods", "-n", NS)
    assert out.stdout.strip() == "yes"


def test_components_work_under_their_own_identities(cluster: Cluster) -> None:
    """Controllers (as their ServiceAccounts), the scheduler and the kubelet (as the node) run a Deployment
    whose pod mounts a Secret and a ConfigMap; exec into it needs ``create`` on pods/exec."""
    cluster.admin("create", "secret", "generic", "app-secret", "--from-literal=token=s3cret", "-n", NS)
    cluster.admin("create", "configmap", "app-config", "--from-literal=mode=prod", "-n", NS)
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app", "namespace": NS},
              "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "app"}},
                       "template": {"metadata": {"labels": {"app": "app"}}, "spec": {
                           "containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"],
                                           "volumeMounts": [{"name": "s", "mountPath": "/s"},
                                                            {"name": "cm", "mountPath": "/cm"}]}],
                           "volumes": [{"name": "s", "secret": {"secretName": "app-secret"}},
                                       {"name": "cm", "configMap": {"name": "app-config"}}]}}}}
    cluster.admin("create", "-f", "-", input=json.dumps(deploy))
    cluster.admin("rollout", "status", "deployment/app", "-n", NS, "--timeout=120s", timeout=150)
    pod = cluster.admin("get", "pods", "-n", NS, "-l", "app=app", "-o", "jsonpath={.items[0].metadata.name}").stdout
    node = cluster.admin("get", "pod", pod, "-n", NS, "-o", "jsonpath={.spec.nodeName}").stdout
    assert node == NODE
    out = cluster.admin("exec", pod, "-n", NS, "--", "cat", "/s/token", "/cm/mode")
    assert out.stdout == "s3cretprod"
    cluster.admin("create", "rolebinding", "peek-view", "--clusterrole=view", "--user=peek", "-n", NS)
    out = cluster.users.kubectl(cluster.users.kubeconfig("peek"), "exec", pod, "-n", NS, "--", "true")
    # kubectl asks over WebSocket (a GET) and falls back to SPDY (a POST): either way exec is refused.
    assert out.returncode != 0
    assert any(f'pods "{pod}" is forbidden: User "peek" cannot {verb} resource "pods/exec" in API group "" in the '
               f'namespace "{NS}"' in out.stderr for verb in ("get", "create")), out.stderr


def test_static_pod_is_mirrored_by_the_node_identity(cluster: Cluster) -> None:
    """NodeRestriction lets the kubelet (as its node) create the mirror of a static pod bound to itself."""
    import yaml

    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "static-auth"},
                "spec": {"containers": [{"name": "c", "image": "busybox", "imagePullPolicy": "IfNotPresent",
                                         "command": ["sleep", "3600"]}]}}
    (cluster.kubelet.manifests_dir / "static-auth.yaml").write_text(yaml.safe_dump(manifest))
    name = f"static-auth-{NODE}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        out = cluster.admin("get", "pod", name, "-o", "jsonpath={.status.phase}", check=False)
        if out.returncode == 0 and out.stdout == "Running":
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"no running mirror pod {name}:\n{cluster.kubelet.log_tail()}")
    (cluster.kubelet.manifests_dir / "static-auth.yaml").unlink()


def test_aggregation_rule_needs_cluster_admin_rights(cluster: Cluster) -> None:
    cluster.admin("create", "clusterrole", "cr-writer", "--verb=create", "--resource=clusterroles")
    cluster.admin("create", "clusterrolebinding", "writer-writes", "--clusterrole=cr-writer", "--user=writer")
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "sneaky"},
            "aggregationRule": {"clusterRoleSelectors": [
                {"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-admin": "true"}}]}}
    out = cluster.users.kubectl(cluster.users.kubeconfig("writer"), "create", "-f", "-", input=json.dumps(role))
    assert ('clusterroles.rbac.authorization.k8s.io "sneaky" is forbidden: must have cluster-admin privileges to use '
            "the aggregationRule") in out.stderr, out.stderr
