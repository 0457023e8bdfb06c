"""Authentication with the real kubectl against a ``pyk8s server`` process (issue 13 §1).

``kubectl auth whoami`` with a client certificate, a static token (``--token-auth-file``) and
ServiceAccount tokens; a pod-bound token stops working when its pod is deleted, an unbound one
when its ServiceAccount is; a legacy token Secret (filled by the controller manager's tokens
controller) works until deleted; anonymous requests (curl) see /version but get 403 elsewhere,
401 with ``--anonymous-auth=false``; TokenReview through ``kubectl create -f``.  The server runs
the controller manager but no scheduler or kubelet: pods stay unscheduled, so deleting one is
immediate.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyk8s.testing.cluster import ServerProcess
from pyk8s.util import kubeconfig

UNAUTHORIZED = "error: You must be logged in to the server (Unauthorized)"


@pytest.fixture(scope="module")
def srv() -> Iterator[ServerProcess]:
    tokens = tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False)  # noqa: SIM115
    tokens.write('alice-static-token,alice,1001,"system:masters,dev"\n')
    tokens.close()
    server = ServerProcess(control_plane=True, extra_args=["--disable", "scheduler",
                                                           "--token-auth-file", tokens.name])
    server.start()
    try:
        yield server
    finally:
        server.close()
        os.unlink(tokens.name)


def token_kubeconfig(srv: ServerProcess, token: str) -> str:
    """A kubeconfig with the cluster CA and only ``token`` (kubectl would also send the admin's certificate,
    and the certificate is authenticated first, as upstream)."""
    with open(os.path.join(srv.data_dir, "pki", "ca.crt"), "rb") as f:
        ca = f.read()
    fd, path = tempfile.mkstemp(suffix=".kubeconfig", dir=srv.root)
    os.close(fd)
    kubeconfig.write_kubeconfig(Path(path), kubeconfig.build_kubeconfig(server=srv.url, ca_pem=ca, user="t", token=token))
    return path


def whoami(srv: ServerProcess, token: str = "") -> subprocess.CompletedProcess[str]:
    args = ["auth", "whoami", "-o", "json"]
    if not token:
        return srv.kubectl(*args, check=False)
    return subprocess.run(
        ["kubectl", f"--kubeconfig={token_kubeconfig(srv, token)}", f"--cache-dir={srv.cache_dir}", *args],
        capture_output=True, text=True, timeout=60, env=srv.kubectl_env(), check=False)


def user_of(result: subprocess.CompletedProcess[str]) -> dict:
    assert result.returncode == 0, result.stderr
    info: dict = json.loads(result.stdout)["status"]["userInfo"]
    return info


def eventually(fn, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_whoami_with_a_certificate_and_a_static_token(srv):
    me = user_of(whoami(srv))
    assert me["username"] == "kubernetes-admin" and "system:masters" in me["groups"]
    alice = user_of(whoami(srv, "alice-static-token"))
    assert alice == {"username": "alice", "uid": "1001", "groups": ["system:masters", "dev", "system:authenticated"]}
    bad = whoami(srv, "not-a-token")
    assert bad.returncode == 1 and bad.stderr.strip() == UNAUTHORIZED


def _account(srv: ServerProcess, name: str) -> None:
    srv.kubectl("create", "serviceaccount", name)
    srv.kubectl("create", "clusterrolebinding", f"{name}-admin", "--clusterrole=cluster-admin",
                f"--serviceaccount=default:{name}")


def test_a_pod_bound_token_stops_working_when_the_pod_is_deleted(srv):
    _account(srv, "bound")
    srv.kubectl("run", "web", "--image=busybox", "--overrides",
                json.dumps({"spec": {"serviceAccountName": "bound"}}))
    token = srv.kubectl("create", "token", "bound", "--bound-object-kind", "Pod", "--bound-object-name",
                        "web").stdout.strip()
    me = user_of(whoami(srv, token))
    assert me["username"] == "system:serviceaccount:default:bound"
    assert me["extra"]["authentication.kubernetes.io/pod-name"] == ["web"]
    srv.kubectl("delete", "pod", "web", "--wait=true")
    gone = whoami(srv, token)
    assert gone.returncode == 1 and gone.stderr.strip() == UNAUTHORIZED


def test_a_token_stops_working_when_its_service_account_is_deleted(srv):
    _account(srv, "shortlived")
    token = srv.kubectl("create", "token", "shortlived").stdout.strip()
    assert user_of(whoami(srv, token))["username"] == "system:serviceaccount:default:shortlived"
    srv.kubectl("delete", "serviceaccount", "shortlived")
    assert whoami(srv, token).stderr.strip() == UNAUTHORIZED


def test_token_request_lifetimes_are_validated(srv):
    _account(srv, "timed")
    long = srv.kubectl("create", "token", "timed", "--duration", "2000000h", check=False)
    assert long.returncode == 1
    assert "may not specify a duration larger than 2^32 seconds" in long.stderr


def test_a_legacy_token_secret_works_until_deleted(srv):
    _account(srv, "legacy")
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
              "metadata": {"name": "legacy-token", "annotations": {"kubernetes.io/service-account.name": "legacy"}}}
    srv.kubectl("create", "-f", "-", input=json.dumps(secret))

    def filled() -> dict:
        out = srv.kubectl("get", "secret", "legacy-token", "-o", "json", check=False)
        data = json.loads(out.stdout).get("data") or {} if out.returncode == 0 else {}
        return data if data.get("token") else {}

    data = eventually(filled)
    assert data, "the tokens controller did not fill the Secret"
    assert base64.b64decode(data["namespace"]) == b"default"
    assert base64.b64decode(data["ca.crt"]).startswith(b"-----BEGIN CERTIFICATE-----")
    token = base64.b64decode(data["token"]).decode()
    assert user_of(whoami(srv, token))["username"] == "system:serviceaccount:default:legacy"
    srv.kubectl("delete", "secret", "legacy-token")
    assert whoami(srv, token).stderr.strip() == UNAUTHORIZED


def test_token_review_with_kubectl_create(srv):
    # --validate=false: kubectl's validation of a kind without PATCH (every review kind) lists CRDs, and
    # pyk8s does not serve apiextensions.k8s.io yet (a 404 there makes kubectl give up before sending).
    _account(srv, "reviewed")
    token = srv.kubectl("create", "token", "reviewed").stdout.strip()
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}}
    status = json.loads(srv.kubectl("create", "--validate=false", "-f", "-", "-o", "json",
                                    input=json.dumps(review)).stdout)["status"]
    assert status["authenticated"] is True
    assert status["user"]["username"] == "system:serviceaccount:default:reviewed"
    assert status["audiences"] == ["https://kubernetes.default.svc.cluster.local"]
    review["spec"]["token"] = "abcdef.0123456789abcdef"
    status = json.loads(srv.kubectl("create", "--validate=false", "-f", "-", "-o", "json",
                                    input=json.dumps(review)).stdout)["status"]
    assert status == {"user": {}, "error": "invalid bearer token"}


def _curl(srv: ServerProcess, path: str) -> tuple[int, str]:
    ca = os.path.join(srv.data_dir, "pki", "ca.crt")
    out = subprocess.run(["curl", "-sS", "--cacert", ca, "-w", "\n%{http_code}", srv.url + path],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    body, _, code = out.rpartition("\n")
    return int(code), body


def test_anonymous_requests_with_curl(srv):
    code, body = _curl(srv, "/version")
    assert code == 200 and json.loads(body)["minor"] == "32"
    code, body = _curl(srv, "/api/v1/pods")
    assert code == 403
    assert json.loads(body)["message"] == ('pods is forbidden: User "system:anonymous" cannot list resource "pods" '
                                           'in API group "" at the cluster scope')


def test_anonymous_auth_off_is_401():
    with ServerProcess(extra_args=["--anonymous-auth=false"]) as bare:
        code, body = _curl(bare, "/api/v1/pods")
        assert code == 401 and json.loads(body)["message"] == "Unauthorized"
        assert _curl(bare, "/version")[0] == 401
