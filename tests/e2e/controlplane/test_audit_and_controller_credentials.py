"""Audit logging seen from kubectl, and ``pyk8s controller-manager --use-service-account-credentials``.

A bare server (no embedded controller manager) writes an audit log under a policy; a standalone
controller manager running the deployment and ReplicaSet controllers with
``--use-service-account-credentials`` and the server's ``controller-manager.kubeconfig``
(``system:kube-controller-manager``) turns a Deployment into its ReplicaSet and pods.  The audit log
shows each write under the controller's own ServiceAccount, the token requests made with the manager's
credentials, kubectl's own requests with their Audit-Id, and a refused impersonation.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pyk8s.testing.cluster import REPO_ROOT, ServerProcess
from tests.e2e.helpers import stop_process, wait_until

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")]

POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: None
  nonResourceURLs: ["/healthz*", "/livez*", "/readyz*"]
- level: None
  verbs: ["get", "list", "watch"]
  userGroups: ["system:serviceaccounts:kube-system"]
- level: Request
  resources: [{group: apps, resources: [deployments]}]
  verbs: [create]
- level: Metadata
  omitManagedFields: true
"""
SA = "system:serviceaccount:kube-system:"


def events(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def creates(path: Path, resource: str) -> list[dict[str, Any]]:
    return [e for e in events(path) if e["verb"] == "create" and e.get("objectRef", {}).get("resource") == resource
            and e["stage"] == "ResponseComplete" and e["responseStatus"]["code"] == 201]


def test_controllers_run_as_their_service_accounts_and_the_audit_log_shows_it() -> None:
    srv = ServerProcess()
    root = Path(srv.root)
    (root / "policy.yaml").write_text(POLICY)
    log_path = root / "audit" / "audit.log"
    srv.extra_args += ["--audit-policy-file", str(root / "policy.yaml"), "--audit-log-path", str(log_path)]
    with srv:
        kubeconfig = Path(srv.data_dir) / "controller-manager.kubeconfig"
        assert kubeconfig.exists()
        out = open(root / "controller-manager.log", "ab")  # noqa: SIM115 - closed below
        manager = subprocess.Popen([sys.executable, "-m", "pyk8s", "controller-manager", "--kubeconfig", str(kubeconfig),
                                    "--controllers", "deployment-controller,replicaset-controller",
                                    "--leader-elect=false", "--use-service-account-credentials"],
                                   stdout=out, stderr=out, cwd=str(REPO_ROOT), env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            made = srv.kubectl("create", "deployment", "web", "--image=nginx", "--replicas=2", "-v=8")
            wait_until(lambda: len(json.loads(srv.kubectl("get", "pods", "-l", "app=web", "-o", "json").stdout)[
                "items"]) == 2, timeout=90, what="the Deployment's two pods")
            wait_until(lambda: creates(log_path, "pods") and creates(log_path, "replicasets"), timeout=30,
                       what="the controllers' writes in the audit log")
            refused = srv.kubectl("get", "secrets", "--as", "mallory", check=False)
            assert refused.returncode != 0
            wait_until(lambda: any(e.get("impersonatedUser", {}).get("username") == "mallory"
                                   for e in events(log_path)), timeout=30, what="the refused request's event")
        finally:
            stop_process(manager)
            out.close()
        log = events(log_path)
        assert {e["user"]["username"] for e in creates(log_path, "replicasets")} == {SA + "deployment-controller"}
        assert {e["user"]["username"] for e in creates(log_path, "pods")} == {SA + "replicaset-controller"}
        pod = creates(log_path, "pods")[0]
        assert pod["user"]["groups"] == ["system:serviceaccounts", "system:serviceaccounts:kube-system",
                                         "system:authenticated"]
        assert pod["annotations"]["authorization.k8s.io/decision"] == "allow"
        assert "RBAC: allowed by ClusterRoleBinding" in pod["annotations"]["authorization.k8s.io/reason"]
        tokens = [e for e in log if e.get("objectRef", {}).get("subresource") == "token"]
        assert {e["objectRef"]["name"] for e in tokens} >= {"deployment-controller", "replicaset-controller"}
        assert {e["user"]["username"] for e in tokens} == {"system:kube-controller-manager"}
        # kubectl's create at Request level: its Audit-Id header names its event, which holds the object
        audit_ids = [line.split("Audit-Id:")[1].strip() for line in made.stderr.splitlines() if "Audit-Id:" in line]
        [deployment] = [e for e in creates(log_path, "deployments")]
        assert deployment["level"] == "Request" and deployment["requestObject"]["metadata"]["name"] == "web"
        assert deployment["userAgent"].startswith("kubectl/") and deployment["user"]["username"] == "kubernetes-admin"
        assert deployment["auditID"] in audit_ids
        [forbidden] = [e for e in log if e.get("impersonatedUser", {}).get("username") == "mallory"]
        assert forbidden["responseStatus"]["code"] == 403
        assert forbidden["annotations"]["authorization.k8s.io/decision"] == "forbid"
        assert oct(log_path.stat().st_mode & 0o777) == "0o600"
