"""Rows for certificates.k8s.io: a CertificateSigningRequest prints its signer,
who asked, the requested duration and one condition summary
(``Pending``/``Approved``/``Denied``, then ``,Failed`` and ``,Issued``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pyk8s.apiserver.printers.cells import Obj, dig, name_of
from pyk8s.apiserver.printers.duration import human_duration, since
from pyk8s.apiserver.printers.table import Column, age_column, name_column, register

GROUP = "certificates.k8s.io"


def condition_summary(obj: Obj) -> str:
    """extractCSRStatus: Denied wins over Approved; Failed and Issued are appended."""
    types = {c.get("type") for c in dig(obj, "status", "conditions") or [] if isinstance(c, dict)}
    status = "Denied" if "Denied" in types else "Approved" if "Approved" in types else "Pending"
    if "Failed" in types:
        status += ",Failed"
    if dig(obj, "status", "certificate"):
        status += ",Issued"
    return status


def _requested_duration(spec: Obj) -> str:
    seconds = spec.get("expirationSeconds")
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        return "<none>"
    return human_duration(timedelta(seconds=seconds))


@register(GROUP, "CertificateSigningRequest", [
    name_column(),
    age_column(),
    Column("SignerName", description="The signer the request is for."),
    Column("Requestor", description="The user that created the request."),
    Column("RequestedDuration", description="The validity requested for the certificate."),
    Column("Condition", description="Whether the request is approved, denied, failed or issued."),
])
def _csr_row(obj: Obj, now: datetime) -> list[Any]:
    spec = obj.get("spec") or {}
    return [name_of(obj), since(dig(obj, "metadata", "creationTimestamp"), now), spec.get("signerName") or "<none>",
            spec.get("username") or "", _requested_duration(spec), condition_summary(obj)]
