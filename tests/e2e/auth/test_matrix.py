"""Who may do what, with RBAC on: a matrix of users against requests, through kubectl and ``kubectl auth can-i``.

Every denial is checked word for word against upstream's message.
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.auth.conftest import NODE, NS, Cluster

Row = tuple[str, tuple[str, ...], str]  # (user, kubectl args, "ok" | "401" | exact 403 message)


def _setup(cluster: Cluster) -> dict[str, str]:
    admin = cluster.admin
    for user, role in (("viewer", "view"), ("editor", "edit"), ("nsadmin", "admin")):
        admin("create", "rolebinding", f"{user}-{role}", f"--clusterrole={role}", f"--user={user}", "-n", NS)
    admin("create", "serviceaccount", "robot", "-n", NS)
    admin("create", "rolebinding", "robot-view", "--clusterrole=view", f"--serviceaccount={NS}:robot", "-n", NS)
    admin("create", "secret", "generic", "s1", "--from-literal=k=v", "-n", NS)
    admin("create", "configmap", "c1", "--from-literal=k=v", "-n", NS)
    admin("create", "clusterrole", "impersonate-viewer", "--verb=impersonate", "--resource=users",
          "--resource-name=viewer")
    admin("create", "clusterrolebinding", "deputy-impersonates", "--clusterrole=impersonate-viewer", "--user=deputy")
    token = admin("create", "token", "robot", "-n", NS).stdout.strip()
    users = cluster.users
    return {
        "nobody": users.kubeconfig("nobody"),
        "viewer": users.kubeconfig("viewer"),
        "editor": users.kubeconfig("editor"),
        "nsadmin": users.kubeconfig("nsadmin"),
        "robot": users.kubeconfig("robot", token=token),
        "badtoken": users.kubeconfig("badtoken", token="not-a-token"),
        "node": users.kubeconfig(f"system:node:{NODE}", ("system:nodes",)),
        "deputy": users.kubeconfig("deputy"),
        "admin": cluster.server.kubeconfig,
    }


@pytest.fixture(scope="module")
def kubeconfigs(cluster: Cluster) -> dict[str, str]:
    return _setup(cluster)


def forbidden(user: str, verb: str, resource: str, *, ns: str = NS, group: str = "", name: str = "",
              reason: str = "") -> str:
    qualified = resource.split("/")[0] + (f".{group}" if group else "")
    head = f'{qualified} "{name}"' if name else qualified
    where = f'in the namespace "{ns}"' if ns else "at the cluster scope"
    msg = f'{head} is forbidden: User "{user}" cannot {verb} resource "{resource}" in API group "{group}" {where}'
    return msg + (f": {reason}" if reason else "")


SA = f"system:serviceaccount:{NS}:robot"
NODE_USER = f"system:node:{NODE}"
NO_RELATION = f"no relationship found between node '{NODE}' and this object"

MATRIX: list[Row] = [
    ("badtoken", ("get", "pods", "-n", NS), "401"),
    ("nobody", ("get", "pods", "-n", NS), forbidden("nobody", "list", "pods")),
    ("nobody", ("get", "--raw", "/apis"), "ok"),
    ("nobody", ("get", "namespaces"), forbidden("nobody", "list", "namespaces", ns="")),
    ("viewer", ("get", "pods", "-n", NS), "ok"),
    ("viewer", ("get", "configmap", "c1", "-n", NS), "ok"),
    ("viewer", ("get", "secrets", "-n", NS), forbidden("viewer", "list", "secrets")),
    ("viewer", ("create", "configmap", "v1", "-n", NS), forbidden("viewer", "create", "configmaps")),
    ("viewer", ("get", "pods", "-n", "default"), forbidden("viewer", "list", "pods", ns="default")),
    ("editor", ("create", "configmap", "e1", "-n", NS), "ok"),
    ("editor", ("get", "secret", "s1", "-n", NS), "ok"),
    ("editor", ("create", "role", "r-e", "--verb=get", "--resource=pods", "-n", NS),
     forbidden("editor", "create", "roles", group="rbac.authorization.k8s.io")),
    ("nsadmin", ("create", "role", "r-a", "--verb=get", "--resource=pods", "-n", NS), "ok"),
    ("nsadmin", ("get", "nodes"), forbidden("nsadmin", "list", "nodes", ns="")),
    ("robot", ("get", "pods", "-n", NS), "ok"),
    ("robot", ("get", "secrets", "-n", NS), forbidden(SA, "list", "secrets")),
    ("node", ("get", "nodes"), "ok"),
    ("node", ("get", "secret", "s1", "-n", NS), forbidden(NODE_USER, "get", "secrets", name="s1", reason=NO_RELATION)),
    ("node", ("get", "configmaps", "-n", NS), forbidden(NODE_USER, "list", "configmaps", reason="No Object name found")),
    ("node", ("delete", "node", "other"), forbidden(NODE_USER, "delete", "nodes", ns="", name="other",
                                                    reason='node "auth-node" is not allowed to modify node "other"')),
    ("admin", ("get", "secrets", "-n", NS, "--as=viewer"), forbidden("viewer", "list", "secrets")),
    ("admin", ("get", "pods", "-n", NS, "--as=viewer"), "ok"),
    ("admin", ("get", "pods", "-n", NS, f"--as={SA}"), "ok"),
    ("deputy", ("get", "pods", "-n", NS, "--as=viewer"), "ok"),
    ("deputy", ("get", "pods", "-n", NS, "--as=editor"),
     'users "editor" is forbidden: User "deputy" cannot impersonate resource "users" in API group "" '
     "at the cluster scope"),
    ("nobody", ("get", "pods", "-n", NS, "--as=viewer", "--as-group=system:masters"),
     'users "viewer" is forbidden: User "nobody" cannot impersonate resource "users" in API group "" '
     "at the cluster scope"),
]


def anonymous(cluster: Cluster, path: str) -> tuple[int, dict[str, object]]:
    """A request without credentials (kubectl would prompt for them): (code, Status or body)."""
    ctx = ssl.create_default_context(cafile=str(Path(cluster.server.data_dir) / "pki" / "ca.crt"))
    try:
        with urllib.request.urlopen(cluster.server.url + path, context=ctx, timeout=10) as r:  # noqa: S310
            return r.status, json.loads(r.read() or b"{}") if path != "/healthz" else {}
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.mark.parametrize(("path", "code", "message"), [
    (f"/api/v1/namespaces/{NS}/pods", 403, forbidden("system:anonymous", "list", "pods")),
    ("/version", 200, ""),
    ("/healthz", 200, ""),
    ("/metrics", 403, 'forbidden: User "system:anonymous" cannot get path "/metrics"'),
    ("/apis", 403, 'forbidden: User "system:anonymous" cannot get path "/apis"'),
])
def test_anonymous(cluster: Cluster, path: str, code: int, message: str) -> None:
    got, body = anonymous(cluster, path)
    assert got == code, body
    if message:
        assert body["message"] == message
        assert body["reason"] == "Forbidden"


@pytest.mark.parametrize(("user", "args", "expected"), MATRIX, ids=[f"{r[0]}:{' '.join(r[1])}" for r in MATRIX])
def test_request_matrix(cluster: Cluster, kubeconfigs: dict[str, str], user: str, args: tuple[str, ...],
                        expected: str) -> None:
    out = cluster.users.kubectl(kubeconfigs[user], *args)
    if expected == "ok":
        assert out.returncode == 0, out.stderr
    elif expected == "401":
        assert out.returncode != 0
        assert "error: You must be logged in to the server" in out.stderr, out.stderr
    else:
        assert out.returncode != 0, out.stdout
        assert expected in out.stderr, out.stderr


CAN_I: list[tuple[str, tuple[str, ...], str]] = [
    ("nobody", ("list", "pods", "-n", NS), "no"),
    ("viewer", ("list", "pods", "-n", NS), "yes"),
    ("viewer", ("get", "secrets", "-n", NS), "no"),
    ("viewer", ("create", "pods", "-n", NS), "no"),
    ("editor", ("create", "pods", "-n", NS), "yes"),
    ("editor", ("create", "pods/exec", "-n", NS), "yes"),
    ("editor", ("create", "roles", "-n", NS), "no"),
    ("nsadmin", ("create", "rolebindings", "-n", NS), "yes"),
    ("nsadmin", ("list", "nodes"), "no"),
    ("robot", ("list", "pods", "-n", NS), "yes"),
    ("robot", ("list", "secrets", "-n", NS), "no"),
    ("node", ("get", "nodes"), "yes"),
    ("node", ("get", "secrets/s1", "-n", NS), f"no - {NO_RELATION}"),
    ("admin", ("delete", "nodes"), "yes"),
    ("admin", ("list", "secrets", "-n", NS, "--as=viewer"), "no"),
    ("admin", ("list", "pods", "-n", NS, "--as=viewer"), "yes"),
    ("deputy", ("list", "pods", "-n", NS, "--as=viewer"), "yes"),
]


@pytest.mark.parametrize(("user", "args", "expected"), CAN_I, ids=[f"{r[0]}:{' '.join(r[1])}" for r in CAN_I])
def test_can_i_matrix(cluster: Cluster, kubeconfigs: dict[str, str], user: str, args: tuple[str, ...],
                      expected: str) -> None:
    out = cluster.users.kubectl(kubeconfigs[user], "auth", "can-i", *args)
    assert out.stdout.strip() == expected, out.stdout + out.stderr
    assert out.returncode == (0 if expected == "yes" else 1)


def test_can_i_list(cluster: Cluster, kubeconfigs: dict[str, str]) -> None:
    out = cluster.users.kubectl(kubeconfigs["viewer"], "auth", "can-i", "--list", "-n", NS)
    assert out.returncode == 0, out.stderr
    lines = {" ".join(line.split()) for line in out.stdout.splitlines()}
    assert "pods [] [] [get list watch]" in lines
    assert "selfsubjectaccessreviews.authorization.k8s.io [] [] [create]" in lines
    assert not any(line.startswith("secrets ") for line in lines)


def test_subject_access_review_names_the_binding(cluster: Cluster, kubeconfigs: dict[str, str]) -> None:
    sar = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
           "spec": {"user": "viewer", "resourceAttributes": {"namespace": NS, "verb": "list", "resource": "pods"}}}
    out = cluster.admin("create", "--validate=false", "-f", "-", "-o", "json", input=json.dumps(sar))
    status = json.loads(out.stdout)["status"]
    assert status == {"allowed": True, "reason": f'RBAC: allowed by RoleBinding "viewer-view/{NS}" of ClusterRole '
                                                 f'"view" to User "viewer"'}


def test_node_reads_a_secret_once_a_pod_on_it_uses_it(cluster: Cluster, kubeconfigs: dict[str, str]) -> None:
    cluster.admin("create", "secret", "generic", "s2", "--from-literal=k=v", "-n", NS)
    node = kubeconfigs["node"]
    denied = cluster.users.kubectl(node, "get", "secret", "s2", "-n", NS)
    assert forbidden(NODE_USER, "get", "secrets", name="s2", reason=NO_RELATION) in denied.stderr
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "uses-s2", "namespace": NS},
           "spec": {"nodeName": NODE, "containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"],
                                                      "env": [{"name": "K", "valueFrom": {"secretKeyRef": {
                                                          "name": "s2", "key": "k"}}}]}]}}
    cluster.admin("create", "-f", "-", input=json.dumps(pod))
    assert cluster.users.kubectl(node, "get", "secret", "s2", "-n", NS).returncode == 0
    cluster.admin("delete", "pod", "uses-s2", "-n", NS, "--grace-period=0", "--force")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if cluster.users.kubectl(node, "get", "secret", "s2", "-n", NS).returncode != 0:
            break
        time.sleep(0.5)
    else:
        pytest.fail("the node still reads the secret after the pod is gone")


def test_node_writes_only_its_own(cluster: Cluster, kubeconfigs: dict[str, str]) -> None:
    node = kubeconfigs["node"]
    cluster.admin("create", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "Node",
                                                         "metadata": {"name": "other-node"}}))
    out = cluster.users.kubectl(node, "label", "node", "other-node", "x=y")
    assert ('nodes "other-node" is forbidden: User "system:node:auth-node" cannot patch resource "nodes" in API '
            'group "" at the cluster scope: node "auth-node" is not allowed to modify node "other-node"') in out.stderr
    out = cluster.users.kubectl(node, "label", "node", NODE, "node-restriction.kubernetes.io/x=y")
    assert (f'nodes "{NODE}" is forbidden: node "{NODE}" is not allowed to modify labels: '
            "node-restriction.kubernetes.io/x") in out.stderr
    assert cluster.users.kubectl(node, "label", "node", NODE, "example.com/x=y").returncode == 0
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "not-mirror", "namespace": NS},
           "spec": {"nodeName": NODE, "containers": [{"name": "c", "image": "busybox"}]}}
    out = cluster.users.kubectl(node, "create", "-f", "-", input=json.dumps(pod))
    assert ('pods "not-mirror" is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, node '
            f'"{NODE}" can only create mirror pods') in out.stderr
    cluster.admin("delete", "node", "other-node")
