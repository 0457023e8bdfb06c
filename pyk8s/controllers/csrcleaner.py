"""CSR cleaner: CertificateSigningRequests are deleted once they have served their purpose.

Upstream's ``certificatesigningrequest-cleaner-controller`` looks at every
request once an hour and deletes one that is

* issued, its approval more than an hour old, or its certificate expired;
* denied or failed more than an hour ago (the condition's ``lastUpdateTime``);
* pending (no condition at all) for more than a day.

One work-queue key, re-queued after each pass (``csrcleaner_period``, 3600 s).
"""

from __future__ import annotations

import base64
import datetime
from typing import Any

from cryptography import x509

from pyk8s.api import certificates_v1 as certs
from pyk8s.client.errors import ApiError, is_not_found
from pyk8s.client.tools.controller import Controller
from pyk8s.controllers.csrsigning import CSRS
from pyk8s.controllers.manager import ControllerContext

Obj = dict[str, Any]
KEY = "all"
PERIOD = 3600.0
APPROVED_EXPIRATION = datetime.timedelta(hours=1)
DENIED_EXPIRATION = datetime.timedelta(hours=1)
PENDING_EXPIRATION = datetime.timedelta(hours=24)


def _time(value: Any) -> datetime.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _older(value: Any, age: datetime.timedelta, now: datetime.datetime) -> bool:
    t = _time(value)
    return t is not None and now - t > age


def _expired(cert_b64: str, now: datetime.datetime) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(base64.b64decode(cert_b64))
    except ValueError:
        return False
    return now > cert.not_valid_after_utc


def should_delete(csr: Obj, now: datetime.datetime) -> bool:
    conditions = certs.conditions(csr)
    issued = (csr.get("status") or {}).get("certificate") or ""
    if not conditions:
        return _older((csr.get("metadata") or {}).get("creationTimestamp"), PENDING_EXPIRATION, now)
    for cond in conditions:
        ctype, updated = cond.get("type"), cond.get("lastUpdateTime")
        if ctype in (certs.DENIED, certs.FAILED) and _older(updated, DENIED_EXPIRATION, now):
            return True
        if ctype == certs.APPROVED and issued and (_older(updated, APPROVED_EXPIRATION, now) or _expired(issued, now)):
            return True
    return False


class CSRCleaner:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.clock = ctx.clock
        self.period = float(ctx.option("csrcleaner_period", PERIOD))
        self.csrs = ctx.factory.informer(CSRS)
        self.controller = Controller("csrcleaner", self.sync, informers=[self.csrs], clock=ctx.clock)
        self.ready = self.controller.ready

    async def run(self) -> None:
        self.controller.queue.add(KEY)
        await self.controller.run()

    async def sync(self, key: str) -> float:
        now = self.clock.now()
        for csr in self.csrs.lister.list():
            if should_delete(csr, now):
                try:
                    await self.client.delete(CSRS, csr["metadata"]["name"])
                except ApiError as exc:
                    if not is_not_found(exc):
                        raise
        return self.period


def new(ctx: ControllerContext) -> CSRCleaner:
    return CSRCleaner(ctx)
