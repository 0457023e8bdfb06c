"""The kubelet's serving certificate manager: CSRs for the node's addresses, kept certificates, rotation."""

from __future__ import annotations

import asyncio
import base64
import datetime
import pathlib
import ssl
import sys
import time
from typing import Any

import pytest

from pyk8s.client.kubeconfig import ClientConfig
from pyk8s.kubelet.certificates import csr, keys, serving
from pyk8s.util import pki
from pyk8s.util.clock import REAL_CLOCK


class InstantClock:
    """Sleeps return at once: the fake API signs on the first read."""

    now = REAL_CLOCK.now
    monotonic = REAL_CLOCK.monotonic

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)


NODE = {"metadata": {"name": "n1"}, "status": {"addresses": [
    {"type": "InternalIP", "address": "10.0.0.5"}, {"type": "Hostname", "address": "n1.example"}]}}


class FakeAPI:
    """Nodes, SelfSubjectReviews and CSRs; a CSR is signed by ``ca`` as soon as it is read back."""

    def __init__(self, ca: pki.KeyPair, user: str, config: ClientConfig, lifetime: float = 3600.0) -> None:
        self.signer = pki.Signer.load(ca.cert_path, ca.key_path)
        self.user, self.config, self.lifetime = user, config, lifetime
        self.user_agent = "test"
        self.csrs: dict[str, dict[str, Any]] = {}
        self.made: list[FakeAPI] = []

    async def get(self, rt: Any, name: str, **_: Any) -> dict[str, Any]:
        if rt.plural == "nodes":
            return NODE
        obj = self.csrs[name]
        spec = obj["spec"]
        cert = self.signer.sign(base64.b64decode(spec["request"]), spec["usages"],
                                datetime.timedelta(seconds=self.lifetime))
        obj["status"] = {"certificate": base64.b64encode(cert).decode()}
        return obj

    async def create(self, rt: Any, obj: dict[str, Any], **_: Any) -> dict[str, Any]:
        if rt.plural == "selfsubjectreviews":
            return {**obj, "status": {"userInfo": {"username": self.user}}}
        name = f"csr-{len(self.csrs)}"
        self.csrs[name] = {**obj, "metadata": {"name": name}, "spec": {**obj["spec"], "username": self.user}}
        return self.csrs[name]

    async def close(self) -> None:
        pass

    def factory(self, config: ClientConfig, **_: Any) -> FakeAPI:
        identity = pki.subject_identity(ssl.PEM_cert_to_DER_cert(config.cert_pem.decode()))[0]
        made = FakeAPI.__new__(FakeAPI)
        made.__dict__.update(self.__dict__, user=identity, csrs=self.csrs, made=[])
        self.made.append(made)
        return made


@pytest.fixture
def ca(tmp_path: pathlib.Path) -> pki.KeyPair:
    return pki.create_ca(tmp_path / "ca.crt", tmp_path / "ca.key")


def _manager(api: FakeAPI, tmp_path: pathlib.Path) -> serving.ServingCertificates:
    return serving.ServingCertificates(api, "n1", tmp_path / "pki", clock=InstantClock(),  # type: ignore[arg-type]
                                       client_factory=api.factory)


def test_sans_are_the_nodes_reported_addresses() -> None:
    assert serving.node_sans(NODE) == (["n1.example"], ["10.0.0.5"])


def test_rotation_deadline_and_usable() -> None:
    info = {"not_before": 1000.0, "not_after": 2000.0, "dns": ["a"], "ips": ["1.2.3.4"]}
    assert serving.rotation_deadline(info, 0.8) == 1800.0
    assert serving.usable(info, ["a"], ["1.2.3.4"], 1600.0)
    assert not serving.usable(info, ["a"], ["1.2.3.4"], 1700.0)  # past 70 %: due for rotation
    assert not serving.usable(info, ["a"], ["1.2.3.5"], 1100.0)  # the node's address changed
    assert not serving.usable(None, ["a"], [], 1100.0)


async def test_the_node_asks_for_its_serving_certificate_and_serves_it(ca: pki.KeyPair, tmp_path: pathlib.Path) -> None:
    api = FakeAPI(ca, "system:node:n1", ClientConfig(server="https://x"))
    certs = _manager(api, tmp_path)
    ctx = await certs.prepare(ca.cert_pem)
    assert not certs.issued.is_set()  # a temporary self-signed certificate until then
    await certs.rotate()
    assert certs.issued.is_set() and certs.context is ctx
    (request,) = api.csrs.values()
    assert request["spec"]["signerName"] == "kubernetes.io/kubelet-serving"
    assert request["spec"]["usages"] == ["digital signature", "key encipherment", "server auth"]
    assert request["metadata"] == {"name": "csr-0"}
    kept = (tmp_path / "pki" / serving.SERVING_FILE)
    assert pki.cert_sans(kept.read_bytes()) == ({"n1.example"}, {"10.0.0.5"})
    assert kept.stat().st_mode & 0o077 == 0
    info = keys.describe(str(kept), ca.cert_pem.decode())
    assert info is not None and info["not_after"] > time.time()

    # A restart keeps the issued certificate; from another cluster's CA it would be replaced.
    again = _manager(api, tmp_path)
    await again.prepare(ca.cert_pem)
    assert again.issued.is_set()
    other = pki.create_ca(tmp_path / "o.crt", tmp_path / "o.key")
    elsewhere = _manager(api, tmp_path)
    await elsewhere.prepare(other.cert_pem)
    assert not elsewhere.issued.is_set()


async def test_renewal_is_due_before_expiry(ca: pki.KeyPair, tmp_path: pathlib.Path) -> None:
    api = FakeAPI(ca, "system:node:n1", ClientConfig(server="https://x"), lifetime=1000.0)
    certs = _manager(api, tmp_path)
    await certs.prepare(ca.cert_pem)
    await certs.rotate()
    info = keys.describe(str(tmp_path / "pki" / serving.SERVING_FILE))
    assert info is not None
    lifetime = info["not_after"] - info["not_before"]
    assert info["not_before"] + 0.7 * lifetime <= certs._deadline <= info["not_before"] + 0.9 * lifetime
    await certs.rotate()
    assert len(api.csrs) == 2  # a new key and CSR each time


async def test_other_credentials_first_get_the_nodes_client_identity(ca: pki.KeyPair, tmp_path: pathlib.Path) -> None:
    api = FakeAPI(ca, "kubernetes-admin", ClientConfig(server="https://x", token="t"))
    certs = _manager(api, tmp_path)
    await certs.prepare(ca.cert_pem)
    await certs.rotate()
    client_csr, serving_csr = api.csrs.values()
    assert client_csr["spec"]["signerName"] == csr.KUBE_APISERVER_CLIENT_KUBELET
    assert client_csr["spec"]["username"] == "kubernetes-admin"
    assert serving_csr["spec"]["signerName"] == csr.KUBELET_SERVING
    assert serving_csr["spec"]["username"] == "system:node:n1"  # asked with the node's own certificate
    assert (tmp_path / "pki" / serving.CLIENT_FILE).exists()


async def test_a_denied_request_is_an_error() -> None:
    denied = {"metadata": {"name": "csr-1"}, "status": {"conditions": [
        {"type": "Denied", "status": "True", "reason": "Nope", "message": "not you"}]}}
    with pytest.raises(csr.CertificateRequestError, match="csr-1 is denied, reason: Nope, message: not you"):
        csr.outcome(denied)


async def test_a_change_of_the_nodes_addresses_asks_for_a_new_certificate(ca: pki.KeyPair, tmp_path: pathlib.Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    api = FakeAPI(ca, "system:node:n1", ClientConfig(server="https://x"))
    certs = _manager(api, tmp_path)
    await certs.prepare(ca.cert_pem)
    await certs.rotate()
    moved = {"metadata": {"name": "n1"}, "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.6"}]}}
    monkeypatch.setattr(sys.modules[__name__], "NODE", moved)
    await asyncio.wait_for(certs.wait_until_due(), 10)  # returns long before the rotation deadline
    await certs.rotate()
    assert pki.cert_sans((tmp_path / "pki" / serving.SERVING_FILE).read_bytes()) == (set(), {"10.0.0.6"})
