"""The CSR signer: what each built-in signer signs, refuses or leaves alone, and for how long."""

from __future__ import annotations

import base64
import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pyk8s.api import certificates_v1 as certs
from pyk8s.controllers import csrsigning
from pyk8s.testing import csrs
from pyk8s.util import pki

from .csr_stubs import StubClient, context

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
YEAR = 365 * 24 * 3600.0


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> pki.Signer:
    d: Path = tmp_path_factory.mktemp("ca")
    pki.create_ca(d / "ca.crt", d / "ca.key")
    return pki.Signer.load(d / "ca.crt", d / "ca.key")


def _approved(request: bytes, signer_name: str, usages: list[str], **kw: object) -> dict:
    return csrs.csr_object("c", request, signer_name, usages, conditions=[csrs.approved()], **kw)  # type: ignore[arg-type]


def _cert(status: dict) -> x509.Certificate:
    return x509.load_pem_x509_certificate(base64.b64decode(status["certificate"]))


def test_client_certificate_is_signed_by_the_ca_with_the_requested_subject(signer: pki.Signer) -> None:
    csr = _approved(csrs.request_pem("alice", ("devs",)), certs.KUBE_APISERVER_CLIENT,
                    ["client auth", "digital signature"], expiration_seconds=3600)
    status = csrsigning.plan(csr, signer, YEAR, NOW)
    assert status is not None and status["conditions"] == [csrs.approved()]
    cert = _cert(status)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "alice"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "devs"
    assert cert.issuer == signer.cert.subject
    cert.verify_directly_issued_by(signer.cert)
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    assert cert.not_valid_after_utc - NOW == datetime.timedelta(seconds=3600)
    assert NOW - cert.not_valid_before_utc == pki.SIGN_BACKDATE


def test_long_lifetimes_end_earlier_by_the_backdate(signer: pki.Signer) -> None:
    csr = _approved(csrs.request_pem("alice"), certs.KUBE_APISERVER_CLIENT, ["client auth"])
    cert = _cert(csrsigning.plan(csr, signer, YEAR, NOW) or {})
    assert cert.not_valid_after_utc - NOW == datetime.timedelta(seconds=YEAR) - pki.SIGN_BACKDATE


def test_expiration_is_capped_by_the_signing_duration_and_floored_at_ten_minutes() -> None:
    assert csrsigning.duration(10 * YEAR, YEAR) == datetime.timedelta(seconds=YEAR)
    assert csrsigning.duration(None, 7200.0) == datetime.timedelta(seconds=7200)
    assert csrsigning.duration(60, YEAR) == datetime.timedelta(minutes=10)


def test_a_refused_request_gets_a_failed_condition_and_no_certificate(signer: pki.Signer) -> None:
    csr = _approved(csrs.request_pem("alice"), certs.KUBE_APISERVER_CLIENT, ["server auth", "client auth"])
    status = csrsigning.plan(csr, signer, YEAR, NOW)
    assert status is not None and "certificate" not in status
    assert status["conditions"][-1] == {
        "type": "Failed", "status": "True", "reason": "SignerValidationFailure",
        "message": "invalid usage for client certificate: server auth", "lastUpdateTime": "2026-01-01T00:00:00Z"}


def test_kubelet_client_signer_checks_the_node_subject(signer: pki.Signer) -> None:
    usages = ["digital signature", "key encipherment", "client auth"]
    good = _approved(csrs.request_pem("system:node:n1", ("system:nodes",)), certs.KUBE_APISERVER_CLIENT_KUBELET,
                     usages)
    assert "certificate" in (csrsigning.plan(good, signer, YEAR, NOW) or {})
    bad = _approved(csrs.request_pem("alice", ("system:nodes",)), certs.KUBE_APISERVER_CLIENT_KUBELET, usages)
    status = csrsigning.plan(bad, signer, YEAR, NOW) or {}
    assert status["conditions"][-1]["message"] == "subject common name does not begin with system:node:"


def test_kubelet_serving_signer_copies_the_sans(signer: pki.Signer) -> None:
    csr = _approved(csrs.request_pem("system:node:n1", ("system:nodes",), dns=("n1",), ips=("10.1.2.3",)),
                    certs.KUBELET_SERVING, ["digital signature", "key encipherment", "server auth"])
    cert = _cert(csrsigning.plan(csr, signer, YEAR, NOW) or {})
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["n1"]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["10.1.2.3"]


@pytest.mark.parametrize("change", ["pending", "denied", "failed", "issued", "legacy", "other-signer"])
def test_nothing_to_do(signer: pki.Signer, change: str) -> None:
    csr = _approved(csrs.request_pem("alice"), certs.KUBE_APISERVER_CLIENT, ["client auth"])
    if change == "pending":
        del csr["status"]
    elif change in ("denied", "failed"):
        csr["status"]["conditions"].append({"type": change.capitalize(), "status": "True"})
    elif change == "issued":
        csr["status"]["certificate"] = "eA=="
    elif change == "legacy":
        csr["spec"]["signerName"] = certs.LEGACY_UNKNOWN
    else:
        csr["spec"]["signerName"] = "example.com/mine"
    assert csrsigning.plan(csr, signer, YEAR, NOW) is None


async def test_sync_writes_the_certificate_through_the_status_subresource(signer: pki.Signer, tmp_path: Path) -> None:
    client = StubClient()
    ctl = csrsigning.CSRSigningController(context(client), signer, YEAR)
    csr = _approved(csrs.request_pem("alice"), certs.KUBE_APISERVER_CLIENT, ["client auth"])
    ctl.csrs.lister.objects["c"] = csr
    await ctl.sync("c")
    [(verb, sub, obj)] = client.calls
    assert (verb, sub) == ("update", "status") and obj["status"]["certificate"]


async def test_without_signing_files_the_controller_signs_nothing() -> None:
    client = StubClient()
    ctl = csrsigning.new(context(client))
    ctl.csrs.lister.objects["c"] = _approved(csrs.request_pem("alice"), certs.KUBE_APISERVER_CLIENT, ["client auth"])
    await ctl.sync("c")
    assert client.calls == []
