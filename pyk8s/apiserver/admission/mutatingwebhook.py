"""MutatingAdmissionWebhook: the chain's slot for mutating admission webhooks (``pyk8s/apiserver/webhooks``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyk8s.apiserver.webhooks.dispatcher import MutatingWebhook

if TYPE_CHECKING:
    from pyk8s.apiserver.admission.chain import Options


def build(options: Options) -> MutatingWebhook:
    return MutatingWebhook()
