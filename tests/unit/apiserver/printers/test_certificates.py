"""CertificateSigningRequest columns and the CONDITION summary, as kubectl prints them."""

from datetime import UTC, datetime

import pyk8s.api  # noqa: F401 - fills SCHEME
from pyk8s.apiserver.printers import to_table
from pyk8s.machinery.scheme import SCHEME

NOW = datetime(2026, 1, 10, 12, 0, 0, tzinfo=UTC)


def _csr(name: str, *types: str, cert: bool = False, seconds: int | None = None) -> dict:
    spec: dict = {"signerName": "kubernetes.io/kube-apiserver-client", "username": "alice"}
    if seconds is not None:
        spec["expirationSeconds"] = seconds
    status: dict = {"conditions": [{"type": t, "status": "True"} for t in types]}
    if cert:
        status["certificate"] = "eA=="
    return {"metadata": {"name": name, "creationTimestamp": "2026-01-10T11:00:00Z"}, "spec": spec, "status": status}


def test_csr_table() -> None:
    rt = SCHEME.get("certificates.k8s.io", "v1", "certificatesigningrequests")
    items = [_csr("p", seconds=86400), _csr("a", "Approved", cert=True, seconds=600), _csr("d", "Denied"),
             _csr("f", "Approved", "Failed"), _csr("both", "Approved", "Denied")]
    table = to_table(rt, items, now=NOW)
    assert [c["name"] for c in table["columnDefinitions"]] == [
        "Name", "Age", "SignerName", "Requestor", "RequestedDuration", "Condition"]
    rows = [r["cells"] for r in table["rows"]]
    assert rows[0] == ["p", "60m", "kubernetes.io/kube-apiserver-client", "alice", "24h", "Pending"]
    assert [r[4] for r in rows] == ["24h", "10m", "<none>", "<none>", "<none>"]
    assert [r[5] for r in rows] == ["Pending", "Approved,Issued", "Denied", "Approved,Failed", "Denied"]
