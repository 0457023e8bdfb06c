"""CertificateSigningRequests end to end with the real kubectl: create, approve, deny, the signers
of the embedded controller manager, auto-approval of a kubelet client request, and a signed client
certificate that authenticates."""

from __future__ import annotations

import base64
import datetime
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from pyk8s.testing import csrs
from pyk8s.testing.cluster import ServerProcess
from pyk8s.util import pki

from ..helpers import row_for, table_rows, wait_until

pytestmark = [pytest.mark.e2e]

CLIENT = "kubernetes.io/kube-apiserver-client"


@pytest.fixture(scope="module")
def cluster(server_available: None) -> Iterator[ServerProcess]:
    srv = ServerProcess(control_plane=True)
    try:
        srv.start()
        yield srv
    finally:
        srv.close()


def _create(srv: ServerProcess, name: str, request: bytes, signer: str, usages: list[str], **spec: object) -> None:
    obj = csrs.csr_object(name, request, signer, usages)
    obj["spec"].update(spec)
    srv.kubectl("create", "-f", "-", input=yaml.safe_dump(obj))


def _csr(srv: ServerProcess, name: str) -> dict:
    return json.loads(srv.kubectl("get", "csr", name, "-o", "json").stdout)


def _issued(srv: ServerProcess, name: str) -> x509.Certificate:
    pem = wait_until(lambda: (_csr(srv, name).get("status") or {}).get("certificate"), timeout=30,
                     what=f"certificate of {name}")
    return x509.load_pem_x509_certificate(base64.b64decode(pem))


def test_approve_sign_and_authenticate(cluster: ServerProcess, tmp_path: Path) -> None:
    key = csrs.new_key()
    _create(cluster, "alice", csrs.request_pem("alice", ("devs",), key=key), CLIENT, ["client auth"],
            expirationSeconds=3600)
    rows = cluster.kubectl("get", "csr").stdout
    assert table_rows(rows)[0] == ["NAME", "AGE", "SIGNERNAME", "REQUESTOR", "REQUESTEDDURATION", "CONDITION"]
    assert row_for(rows, "alice")[2:] == [CLIENT, "kubernetes-admin", "60m", "Pending"]
    out = cluster.kubectl("certificate", "approve", "alice").stdout
    assert out.strip() == "certificatesigningrequest.certificates.k8s.io/alice approved"
    cert = _issued(cluster, "alice")
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == datetime.timedelta(minutes=65)
    assert row_for(cluster.kubectl("get", "csr", "alice").stdout, "alice")[-1] == "Approved,Issued"
    cond = _csr(cluster, "alice")["status"]["conditions"][0]
    assert (cond["type"], cond["status"], cond["reason"]) == ("Approved", "True", "KubectlApprove")

    (tmp_path / "alice.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "alice.key").write_bytes(csrs.key_pem(key))
    as_alice = ["kubectl", "--kubeconfig=/dev/null", f"--server={cluster.url}",
                f"--certificate-authority={cluster.data_dir}/pki/ca.crt",
                f"--client-certificate={tmp_path / 'alice.crt'}", f"--client-key={tmp_path / 'alice.key'}"]
    # The certificate authenticates: alice, who holds no role, is refused by name (not 401 Unauthorized).
    denied = subprocess.run([*as_alice, "get", "configmaps", "-n", "default"], capture_output=True, text=True,
                            timeout=30)
    assert denied.returncode == 1
    assert 'configmaps is forbidden: User "alice" cannot list resource "configmaps" in API group "" in the ' \
           'namespace "default"' in denied.stderr
    version = subprocess.run([*as_alice, "get", "--raw", "/version"], capture_output=True, text=True, timeout=30)
    assert version.returncode == 0 and '"gitVersion"' in version.stdout
    # The same key with a certificate of another CA is not alice.
    other = tmp_path / "other"
    other.mkdir()
    ca = pki.create_ca(other / "ca.crt", other / "ca.key")
    forged = pki.Signer.load(ca.cert_path, ca.key_path).sign(csrs.request_pem("alice", ("devs",), key=key),
                                                               ["client auth"], datetime.timedelta(hours=1))
    (tmp_path / "forged.crt").write_bytes(forged)
    refused = subprocess.run([*as_alice[:-2], f"--client-certificate={tmp_path / 'forged.crt'}",
                              f"--client-key={tmp_path / 'alice.key'}", "get", "configmaps"],
                             capture_output=True, text=True, timeout=30)
    assert refused.returncode == 1 and "Unauthorized" in refused.stderr

    # Approving needs `approve` on the signer (upstream's CertificateApproval), not just the subresource.
    cluster.kubectl("create", "clusterrole", "csr-approval", "--verb=get,list,update",
                    "--resource=certificatesigningrequests,certificatesigningrequests/approval")
    cluster.kubectl("create", "clusterrolebinding", "alice-csr-approval", "--clusterrole=csr-approval", "--user=alice")
    _create(cluster, "for-alice", csrs.request_pem("dave"), CLIENT, ["client auth"])
    no = wait_until(lambda: _not_yet_allowed(as_alice), timeout=30, what="the binding to take effect")
    assert ('certificatesigningrequests.certificates.k8s.io "for-alice" is forbidden: user not permitted to approve '
            'requests with signerName "kubernetes.io/kube-apiserver-client"') in no
    cluster.kubectl("create", "-f", "-", input=yaml.safe_dump({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "signer-approver"},
        "rules": [{"apiGroups": ["certificates.k8s.io"], "resources": ["signers"], "verbs": ["approve"],
                   "resourceNames": [CLIENT]}]}))
    cluster.kubectl("create", "clusterrolebinding", "alice-signer", "--clusterrole=signer-approver", "--user=alice")
    wait_until(lambda: subprocess.run([*as_alice, "certificate", "approve", "for-alice"], capture_output=True,
                                      timeout=30).returncode == 0, timeout=30, what="approval by alice")
    _issued(cluster, "for-alice")


def _not_yet_allowed(as_alice: list[str]) -> str:
    """The approval's stderr once RBAC lets alice reach the subresource ('' while it does not)."""
    out = subprocess.run([*as_alice, "certificate", "approve", "for-alice"], capture_output=True, text=True,
                         timeout=30)
    return out.stderr if "user not permitted" in out.stderr else ""


def test_deny(cluster: ServerProcess) -> None:
    _create(cluster, "mallory", csrs.request_pem("mallory"), CLIENT, ["client auth"])
    out = cluster.kubectl("certificate", "deny", "mallory").stdout
    assert out.strip() == "certificatesigningrequest.certificates.k8s.io/mallory denied"
    assert row_for(cluster.kubectl("get", "csr", "mallory").stdout, "mallory")[-1] == "Denied"
    again = cluster.kubectl("certificate", "approve", "mallory", check=False)
    assert again.returncode != 0 and 'certificate signing request "mallory" is already Denied' in again.stderr
    # Approved and Denied are exclusive on the server too, whatever the client checks.
    body = _csr(cluster, "mallory")
    body["status"]["conditions"].append({"type": "Approved", "status": "True", "reason": "X"})
    raw = cluster.kubectl("replace", "--raw", "/apis/certificates.k8s.io/v1/certificatesigningrequests/mallory/approval",
                          "-f", "-", input=json.dumps(body), check=False)
    assert raw.returncode != 0 and "Approved and Denied conditions are mutually exclusive" in raw.stderr
    assert "certificate" not in _csr(cluster, "mallory")["status"]


def test_signer_refusal_is_a_failed_condition(cluster: ServerProcess) -> None:
    _create(cluster, "bad-usage", csrs.request_pem("bob"), CLIENT, ["client auth", "server auth"])
    cluster.kubectl("certificate", "approve", "bad-usage")
    failed = wait_until(lambda: [c for c in _csr(cluster, "bad-usage")["status"]["conditions"]
                                 if c["type"] == "Failed"], timeout=30, what="Failed condition")
    assert failed[0]["reason"] == "SignerValidationFailure"
    assert failed[0]["message"] == "invalid usage for client certificate: server auth"
    assert row_for(cluster.kubectl("get", "csr", "bad-usage").stdout, "bad-usage")[-1] == "Approved,Failed"


def test_validation_errors(cluster: ServerProcess) -> None:
    obj = csrs.csr_object("short", csrs.request_pem("x"), CLIENT, ["client auth"], expiration_seconds=599)
    out = cluster.kubectl("create", "-f", "-", input=yaml.safe_dump(obj), check=False)
    assert out.returncode == 1
    assert ('The CertificateSigningRequest "short" is invalid: spec.expirationSeconds: '
            "Invalid value: 599: may not specify a duration less than 600 seconds (10 minutes)") in out.stderr
    root = csrs.csr_object("root", csrs.request_pem("eve", ("system:masters",)), CLIENT, ["client auth"])
    out = cluster.kubectl("create", "-f", "-", input=yaml.safe_dump(root), check=False)
    assert out.returncode == 1
    assert ('certificatesigningrequests.certificates.k8s.io "root" is forbidden: use of '
            "kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed") in out.stderr


def test_kubelet_client_request_is_auto_approved_and_signed(cluster: ServerProcess) -> None:
    # Created as the admin (system:masters), who may create certificatesigningrequests/nodeclient.
    _create(cluster, "node-n1", csrs.request_pem("system:node:n1", ("system:nodes",)),
            "kubernetes.io/kube-apiserver-client-kubelet", ["digital signature", "client auth"])
    cert = _issued(cluster, "node-n1")
    cond = _csr(cluster, "node-n1")["status"]["conditions"][0]
    assert (cond["type"], cond["reason"]) == ("Approved", "AutoApproved")
    assert cond["message"] == "Auto approving kubelet client certificate after SubjectAccessReview."
    assert cert.subject.rfc4514_string() == "CN=system:node:n1,O=system:nodes"


KUBEADM_BINDINGS = (  # what `kubeadm init` binds (upstream's API server creates the roles, not these bindings)
    ("kubeadm:kubelet-bootstrap", "system:node-bootstrapper", "system:bootstrappers"),
    ("kubeadm:node-autoapprove-bootstrap", "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
     "system:bootstrappers"),
    ("kubeadm:node-autoapprove-certificate-rotation",
     "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", "system:nodes"),
)


def test_bootstrap_token_to_node_certificate_and_its_renewal(cluster: ServerProcess, tmp_path: Path) -> None:
    """The ground of `pyk8s join`: a bootstrap token asks for a node's client certificate (nodeclient),
    then the node renews it with that certificate (selfnodeclient); both are approved by the controller."""
    for name, role, group in KUBEADM_BINDINGS:
        cluster.kubectl("create", "clusterrolebinding", name, f"--clusterrole={role}", f"--group={group}")
    cluster.kubectl("create", "-f", "-", input=yaml.safe_dump({
        "apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
        "metadata": {"name": "bootstrap-token-abcdef", "namespace": "kube-system"},
        "stringData": {"token-id": "abcdef", "token-secret": "0123456789abcdef",
                       "usage-bootstrap-authentication": "true"}}))
    base = ["kubectl", "--kubeconfig=/dev/null", f"--server={cluster.url}",
            f"--certificate-authority={cluster.data_dir}/pki/ca.crt"]
    usages = ["digital signature", "key encipherment", "client auth"]
    key = csrs.new_key()
    first = csrs.csr_object("node-n2-bootstrap", csrs.request_pem("system:node:n2", ("system:nodes",), key=key),
                            "kubernetes.io/kube-apiserver-client-kubelet", usages)
    as_token = [*base, "--token=abcdef.0123456789abcdef"]
    created = wait_until(lambda: subprocess.run([*as_token, "create", "-f", "-"], input=yaml.safe_dump(first),
                                                capture_output=True, text=True, timeout=30).returncode == 0,
                         timeout=30, what="the bootstrapper's CSR (once its bindings are in effect)")
    assert created
    csr = _csr(cluster, "node-n2-bootstrap")
    assert csr["spec"]["username"] == "system:bootstrap:abcdef"
    assert "system:bootstrappers" in csr["spec"]["groups"]
    cert = _issued(cluster, "node-n2-bootstrap")
    cond = _csr(cluster, "node-n2-bootstrap")["status"]["conditions"][0]
    assert (cond["reason"], cond["message"]) == (
        "AutoApproved", "Auto approving kubelet client certificate after SubjectAccessReview.")

    (tmp_path / "node.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "node.key").write_bytes(csrs.key_pem(key))
    as_node = [*base, f"--client-certificate={tmp_path / 'node.crt'}", f"--client-key={tmp_path / 'node.key'}"]
    renewal = csrs.csr_object("node-n2-renewal", csrs.request_pem("system:node:n2", ("system:nodes",)),
                              "kubernetes.io/kube-apiserver-client-kubelet", usages)
    out = subprocess.run([*as_node, "create", "-f", "-"], input=yaml.safe_dump(renewal), capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert _csr(cluster, "node-n2-renewal")["spec"]["username"] == "system:node:n2"
    _issued(cluster, "node-n2-renewal")
    cond = _csr(cluster, "node-n2-renewal")["status"]["conditions"][0]
    assert cond["message"] == "Auto approving self kubelet client certificate after SubjectAccessReview."
