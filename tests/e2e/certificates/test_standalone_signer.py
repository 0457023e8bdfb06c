"""``pyk8s controller-manager --cluster-signing-cert-file/--cluster-signing-key-file``: a standalone
controller manager signs approved CSRs with the CA it is given, for no longer than
``--cluster-signing-duration`` (without the files it signs nothing: tests/unit/controllers/test_csrsigning.py)."""

from __future__ import annotations

import base64
import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cryptography import x509

from pyk8s.testing import csrs
from pyk8s.testing.cluster import REPO_ROOT, ServerProcess

from ..helpers import stop_process, wait_until

pytestmark = [pytest.mark.e2e]


def _certificate(srv: ServerProcess, name: str) -> str:
    return str((json.loads(srv.kubectl("get", "csr", name, "-o", "json").stdout).get("status") or {})
               .get("certificate") or "")


def test_standalone_controller_manager_signs_with_the_given_ca(server_available: None) -> None:
    with ServerProcess() as srv:  # no embedded controller manager
        pki = Path(srv.data_dir) / "pki"
        log = open(os.path.join(srv.root, "cm.log"), "ab")  # noqa: SIM115 - closed below
        manager = subprocess.Popen([sys.executable, "-m", "pyk8s", "controller-manager", "--kubeconfig", srv.kubeconfig,
                                    "--leader-elect=false", "--controllers",
                                    "certificatesigningrequest-signing-controller",
                                    "--cluster-signing-cert-file", str(pki / "ca.crt"),
                                    "--cluster-signing-key-file", str(pki / "ca.key"),
                                    "--cluster-signing-duration", "2h"],
                                   stdout=log, stderr=log, cwd=str(REPO_ROOT))
        try:
            obj = csrs.csr_object("carol", csrs.request_pem("carol"), "kubernetes.io/kube-apiserver-client",
                                  ["client auth"], expiration_seconds=10 * 24 * 3600)
            srv.kubectl("create", "-f", "-", input=yaml.safe_dump(obj))
            srv.kubectl("certificate", "approve", "carol")
            pem = wait_until(lambda: _certificate(srv, "carol"), timeout=60, what="carol's certificate")
            cert = x509.load_pem_x509_certificate(base64.b64decode(pem))
            ca = x509.load_pem_x509_certificate((pki / "ca.crt").read_bytes())
            cert.verify_directly_issued_by(ca)
            # Ten days asked, two hours allowed: the signer's cap wins (two hours is under 8 h: not shortened).
            assert cert.not_valid_after_utc - cert.not_valid_before_utc == datetime.timedelta(hours=2, minutes=5)
        finally:
            stop_process(manager)
            log.close()
