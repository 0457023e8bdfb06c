"""ValidatingAdmissionWebhook: the chain's slot for validating admission webhooks (``pyk8s/apiserver/webhooks``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyk8s.apiserver.webhooks.dispatcher import ValidatingWebhook

if TYPE_CHECKING:
    from pyk8s.apiserver.admission.chain import Options


def build(options: Options) -> ValidatingWebhook:
    return ValidatingWebhook()
