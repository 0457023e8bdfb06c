"""The CSR cleaner's deadlines: issued or decided after an hour, pending after a day, expired certificates."""

from __future__ import annotations

import base64
import datetime
from pathlib import Path

import pytest

from pyk8s.api import certificates_v1 as certs
from pyk8s.controllers import csrcleaner
from pyk8s.testing import csrs
from pyk8s.util import pki

from .csr_stubs import StubClient, context

NOW = datetime.datetime(2026, 6, 1, 12, 0, tzinfo=datetime.UTC)


def _at(delta: datetime.timedelta) -> str:
    return (NOW - delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def _csr(created: datetime.timedelta, *conditions: tuple[str, datetime.timedelta], cert: str = "") -> dict:
    obj = csrs.csr_object("c", csrs.request_pem("x"), certs.KUBE_APISERVER_CLIENT, ["client auth"])
    obj["metadata"]["creationTimestamp"] = _at(created)
    if conditions:
        obj["status"] = {"conditions": [{"type": t, "status": "True", "lastUpdateTime": _at(age)}
                                        for t, age in conditions]}
    if cert:
        obj.setdefault("status", {})["certificate"] = cert
    return obj


@pytest.fixture(scope="module")
def cert_b64(tmp_path_factory: pytest.TempPathFactory) -> str:
    d: Path = tmp_path_factory.mktemp("ca")
    ca = pki.create_ca(d / "ca.crt", d / "ca.key")
    signer = pki.Signer.load(ca.cert_path, ca.key_path)
    return base64.b64encode(signer.sign(csrs.request_pem("x"), ["client auth"], datetime.timedelta(hours=2),
                                        NOW - datetime.timedelta(hours=3))).decode()  # expired an hour ago


def test_deadlines(cert_b64: str) -> None:
    hour, minute = datetime.timedelta(hours=1), datetime.timedelta(minutes=1)
    assert not csrcleaner.should_delete(_csr(23 * hour), NOW)
    assert csrcleaner.should_delete(_csr(25 * hour), NOW)
    assert not csrcleaner.should_delete(_csr(2 * hour, ("Denied", 59 * minute)), NOW)
    assert csrcleaner.should_delete(_csr(2 * hour, ("Denied", 61 * minute)), NOW)
    assert csrcleaner.should_delete(_csr(2 * hour, ("Approved", 2 * hour), ("Failed", 61 * minute)), NOW)
    assert not csrcleaner.should_delete(_csr(30 * hour, ("Approved", 2 * hour)), NOW)  # approved, not issued
    assert csrcleaner.should_delete(_csr(2 * hour, ("Approved", 61 * minute), cert="eA=="), NOW)
    assert csrcleaner.should_delete(_csr(2 * hour, ("Approved", minute), cert=cert_b64), NOW)  # expired


async def test_sync_deletes_and_requeues() -> None:
    client = StubClient()
    deleted: list[str] = []

    async def delete(rt: object, name: str, **_: object) -> None:
        deleted.append(name)

    client.delete = delete  # type: ignore[attr-defined]
    ctl = csrcleaner.new(context(client))
    ctl.clock.now = lambda: NOW  # type: ignore[method-assign]
    ctl.csrs.lister.objects["c"] = _csr(datetime.timedelta(hours=25))
    assert await ctl.sync(csrcleaner.KEY) == csrcleaner.PERIOD
    assert deleted == ["c"]
