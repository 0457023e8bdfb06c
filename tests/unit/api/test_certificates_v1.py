"""certificates.k8s.io/v1 validation and update rules, worded as upstream's."""

from __future__ import annotations

import base64

from pyk8s.api import certificates_v1 as certs
from pyk8s.testing import csrs

CLIENT = certs.KUBE_APISERVER_CLIENT


def _messages(errs: list) -> list[str]:
    return [f"{e.field}: {e.message}" for e in errs]


def _csr(**kw: object) -> dict:
    obj = csrs.csr_object("c", csrs.request_pem("alice", ("devs",)), CLIENT, ["client auth"])
    obj["spec"].update(kw)
    return obj


def test_a_valid_request_passes() -> None:
    assert certs.validate_csr(_csr(expirationSeconds=600)) == []


def test_request_must_be_a_certificate_request_pem() -> None:
    bad = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").decode()
    msgs = _messages(certs.validate_csr(_csr(request=bad)))
    assert len(msgs) == 1
    assert msgs[0].startswith("spec.request: Invalid value: []byte{0x2d, 0x2d")
    assert msgs[0].endswith(": PEM block type must be CERTIFICATE REQUEST")


def test_a_request_with_a_broken_signature_is_refused() -> None:
    pem = csrs.request_pem("alice")
    der = bytearray(base64.b64decode(b"".join(pem.splitlines()[1:-1])))
    der[-5] ^= 0xFF  # inside the signature
    broken = b"-----BEGIN CERTIFICATE REQUEST-----\n" + base64.encodebytes(bytes(der)) + \
        b"-----END CERTIFICATE REQUEST-----\n"
    msgs = _messages(certs.validate_csr(_csr(request=base64.b64encode(broken).decode())))
    assert len(msgs) == 1 and msgs[0].startswith("spec.request: Invalid value")


def test_signer_name_rules() -> None:
    assert _messages(certs.validate_csr(_csr(signerName=""))) == ["spec.signerName: Required value"]
    assert _messages(certs.validate_csr(_csr(signerName="example"))) == [
        "spec.signerName: Invalid value: \"example\": must be a fully qualified domain and path of the form "
        "'example.com/signer-name'"]
    assert _messages(certs.validate_csr(_csr(signerName="example/foo"))) == [
        "spec.signerName: Invalid value: \"example\": should be a domain with at least two segments separated "
        "by dots"]
    assert _messages(certs.validate_csr(_csr(signerName=certs.LEGACY_UNKNOWN))) == [
        'spec.signerName: Invalid value: "kubernetes.io/legacy-unknown": the legacy signerName is not allowed '
        "via this API version"]
    assert certs.validate_csr(_csr(signerName="example.com/my-signer")) == []


def test_usages_required_known_and_unique() -> None:
    assert _messages(certs.validate_csr(_csr(usages=[]))) == ["spec.usages: Required value"]
    msgs = _messages(certs.validate_csr(_csr(usages=["client auth", "flying"])))
    assert msgs[0].startswith('spec.usages[1]: Unsupported value: "flying": supported values: "any", ')
    assert _messages(certs.validate_csr(_csr(usages=["client auth", "client auth"]))) == [
        'spec.usages[1]: Duplicate value: "client auth"']


def test_expiration_seconds_at_least_ten_minutes() -> None:
    assert _messages(certs.validate_csr(_csr(expirationSeconds=599))) == [
        "spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 600 seconds (10 minutes)"]


def test_approved_and_denied_are_exclusive_and_unique() -> None:
    obj = _csr()
    obj["status"] = {"conditions": [csrs.approved(), {"type": "Denied", "status": "True"}]}
    assert _messages(certs.validate_csr(obj)) == [
        'status.conditions[1].type: Invalid value: "Denied": Approved and Denied conditions are mutually exclusive']
    obj["status"] = {"conditions": [csrs.approved(), csrs.approved()]}
    assert _messages(certs.validate_csr(obj)) == ['status.conditions[1].type: Duplicate value: "Approved"']
    obj["status"] = {"conditions": [{"type": "Approved", "status": "False"}]}
    assert _messages(certs.validate_csr(obj)) == [
        'status.conditions[0].status: Unsupported value: "False": supported values: "True"']


def test_updates_may_not_remove_terminal_conditions() -> None:
    old = _csr()
    old["status"] = {"conditions": [csrs.approved()]}
    new = _csr()
    assert _messages(certs.validate_csr_update(new, old, approval=True)) == [
        'status.conditions: Forbidden: updates may not remove a condition of type "Approved"']


def test_status_updates_may_not_approve_but_may_issue_once() -> None:
    old = _csr()
    new = _csr()
    new["status"] = {"conditions": [csrs.approved()]}
    assert _messages(certs.validate_csr_update(new, old, status=True)) == [
        'status.conditions: Forbidden: updates may not add a condition of type "Approved"']
    assert certs.validate_csr_update(new, old, approval=True) == []
    junk = base64.b64encode(b"not a cert").decode()
    issued = _csr()
    issued["status"] = {"certificate": junk}
    assert _messages(certs.validate_csr_update(issued, old, status=True)) == [
        "status.certificate: Invalid value: <certificate data>: must contain at least one CERTIFICATE PEM block"]
    assert _messages(certs.validate_csr_update(issued, old, approval=True))[-1] == \
        "status.certificate: Forbidden: updates may not set certificate content"


def test_condition_timestamps_are_filled_and_transitions_kept() -> None:
    old = {"status": {"conditions": [{"type": "Approved", "status": "True", "lastTransitionTime": "T0"}]}}
    new = {"status": {"conditions": [{"type": "Approved", "status": "True"}, {"type": "Failed", "status": "True"}]}}
    certs.populate_condition_timestamps(new, old, "NOW")
    assert new["status"]["conditions"] == [
        {"type": "Approved", "status": "True", "lastUpdateTime": "NOW", "lastTransitionTime": "T0"},
        {"type": "Failed", "status": "True", "lastUpdateTime": "NOW", "lastTransitionTime": "NOW"}]


def test_kubelet_client_rules() -> None:
    good = certs.parse_request(csrs.request_pem("system:node:n1", ("system:nodes",)))
    assert certs.kubelet_client_error(good, ["digital signature", "client auth"]) == ""
    assert certs.kubelet_client_error(good, ["client auth"]) == \
        "usages did not match [client auth digital signature key encipherment]"
    other = certs.parse_request(csrs.request_pem("system:node:n1", ("devs",)))
    assert certs.kubelet_client_error(other, ["client auth"]) == "subject organization is not system:nodes"
    named = certs.parse_request(csrs.request_pem("alice", ("system:nodes",)))
    assert certs.kubelet_client_error(named, ["digital signature", "client auth"]) == \
        "subject common name does not begin with system:node:"
    with_dns = certs.parse_request(csrs.request_pem("system:node:n1", ("system:nodes",), dns=("n1",)))
    assert certs.kubelet_client_error(with_dns, ["client auth"]) == "DNS subjectAltNames are not allowed"


def test_kubelet_serving_rules() -> None:
    no_san = certs.parse_request(csrs.request_pem("system:node:n1", ("system:nodes",)))
    usages = ["digital signature", "key encipherment", "server auth"]
    assert certs.kubelet_serving_error(no_san, usages) == "DNS or IP subjectAltName is required"
    ok = certs.parse_request(csrs.request_pem("system:node:n1", ("system:nodes",), ips=("10.0.0.5",)))
    assert certs.kubelet_serving_error(ok, usages) == ""
    assert certs.kubelet_serving_error(ok, ["server auth"]) == \
        "usages did not match [digital signature key encipherment server auth]"


def test_apiserver_client_usages() -> None:
    assert certs.apiserver_client_error(["client auth", "digital signature"]) == ""
    assert certs.apiserver_client_error(["server auth", "client auth"]) == \
        "invalid usage for client certificate: server auth"
    assert certs.apiserver_client_error(["digital signature"]) == \
        "missing required usage for client certificate: client auth"
