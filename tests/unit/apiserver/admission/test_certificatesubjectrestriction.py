"""CertificateSubjectRestriction refuses system:masters certificates from the client signer."""

from __future__ import annotations

import pytest

from pyk8s.api import certificates_v1 as certs
from pyk8s.apiserver.admission.certificatesubjectrestriction import CertificateSubjectRestriction
from pyk8s.apiserver.admission.chain import build_chain
from pyk8s.apiserver.admission.interface import CREATE, Attributes
from pyk8s.machinery.errors import StatusError
from pyk8s.testing import csrs


def _attrs(orgs: tuple[str, ...], signer: str = certs.KUBE_APISERVER_CLIENT) -> Attributes:
    obj = csrs.csr_object("root", csrs.request_pem("eve", orgs), signer, ["client auth"])
    return Attributes(CREATE, certs.GROUP, "certificatesigningrequests", obj)


async def test_system_masters_via_the_client_signer_is_forbidden() -> None:
    with pytest.raises(StatusError) as info:
        await CertificateSubjectRestriction().validate(None, _attrs(("devs", "system:masters")))  # type: ignore[arg-type]
    assert info.value.code == 403
    assert info.value.message == ('certificatesigningrequests.certificates.k8s.io "root" is forbidden: use of '
                                  "kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed")


async def test_other_groups_and_signers_pass() -> None:
    plugin = CertificateSubjectRestriction()
    await plugin.validate(None, _attrs(("devs",)))  # type: ignore[arg-type]
    await plugin.validate(None, _attrs(("system:masters",), "example.com/signer"))  # type: ignore[arg-type]


def test_it_is_on_by_default() -> None:
    assert any(p.name == "CertificateSubjectRestriction" for p in build_chain().plugins)
