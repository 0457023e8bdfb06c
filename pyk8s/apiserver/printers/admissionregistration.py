"""Rows for the webhook configurations (NAME, WEBHOOKS, AGE) and APIService (NAME, SERVICE, AVAILABLE, AGE),
as kubectl prints them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pyk8s.apiserver.printers.cells import Obj, dig, name_of
from pyk8s.apiserver.printers.duration import since
from pyk8s.apiserver.printers.table import Column, age_column, name_column, register

_WEBHOOK_COLUMNS = [name_column(), Column("Webhooks", "integer", "Webhooks is the number of webhooks in the "
                                                                 "configuration."), age_column()]


def _webhook_row(cfg: Obj, now: datetime) -> list[Any]:
    hooks = cfg.get("webhooks")
    return [name_of(cfg), len(hooks) if isinstance(hooks, list) else 0,
            since(dig(cfg, "metadata", "creationTimestamp"), now)]


register("admissionregistration.k8s.io", "MutatingWebhookConfiguration", _WEBHOOK_COLUMNS)(_webhook_row)
register("admissionregistration.k8s.io", "ValidatingWebhookConfiguration", _WEBHOOK_COLUMNS)(_webhook_row)


def _available(svc: Obj) -> str:
    for cond in dig(svc, "status", "conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == "Available":
            status = str(cond.get("status") or "")
            return status if status == "True" else f"{status} ({cond.get('reason') or ''})"
    return "Unknown"


@register("apiregistration.k8s.io", "APIService", [
    name_column(),
    Column("Service", description="The reference to the service that hosts the API endpoint."),
    Column("Available", description="Whether this service is available."),
    age_column(),
])
def apiservice_row(svc: Obj, now: datetime) -> list[Any]:
    ref = dig(svc, "spec", "service")
    service = f"{ref.get('namespace') or ''}/{ref.get('name') or ''}" if isinstance(ref, dict) else "Local"
    return [name_of(svc), service, _available(svc), since(dig(svc, "metadata", "creationTimestamp"), now)]
