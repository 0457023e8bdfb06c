"""AdmissionReview v1: the request a webhook gets and what its response means.

A denial becomes upstream's ``admission webhook "<name>" denied the request: <message>`` with the
webhook's code (403 when it gave none or one below 400); a response that cannot be used is a call
failure (``failed calling webhook``), subject to the failurePolicy.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

import orjson

from pyk8s.apiserver.admission.interface import Attributes
from pyk8s.apiserver.webhooks.matching import Request
from pyk8s.machinery import errors

Obj = dict[str, Any]
API_VERSION = "admission.k8s.io/v1"
_OPTIONS_KIND = {"CREATE": "CreateOptions", "UPDATE": "UpdateOptions", "DELETE": "DeleteOptions"}


class CallError(Exception):
    """The webhook could not be called or answered nonsense (``ErrCallingWebhook``)."""

    def __init__(self, hook: str, reason: str) -> None:
        super().__init__(f"failed calling webhook \"{hook}\": {reason}")
        self.hook = hook


def build(attrs: Attributes, req: Request, obj: Obj | None) -> tuple[str, bytes]:
    """(uid, body) of the AdmissionReview sent for this request."""
    uid = str(uuid.uuid4())
    kind = str((obj or attrs.old or {}).get("kind") or "")
    gvk = {"group": req.group, "version": req.version, "kind": kind}
    gvr = {"group": req.group, "version": req.version, "resource": req.resource}
    meta = (obj or attrs.old or {}).get("metadata") or {}
    request: Obj = {
        "uid": uid, "kind": gvk, "resource": gvr, "requestKind": gvk, "requestResource": gvr,
        "name": attrs.name if attrs.operation == "CONNECT" else meta.get("name") or "",
        "namespace": req.namespace, "operation": attrs.operation,
        "userInfo": {"username": attrs.user, "groups": list(attrs.groups)},
        "object": obj if attrs.operation != "DELETE" else None,
        "oldObject": attrs.old, "dryRun": attrs.dry_run,
    }
    if req.subresource:
        request["subResource"] = request["requestSubResource"] = req.subresource
    if attrs.operation in _OPTIONS_KIND:
        request["options"] = {"kind": _OPTIONS_KIND[attrs.operation], "apiVersion": "meta.k8s.io/v1"}
    body = orjson.dumps({"apiVersion": API_VERSION, "kind": "AdmissionReview", "request": request})
    return uid, body


def response_of(hook: str, uid: str, raw: bytes) -> Obj:
    """The ``response`` of a webhook's answer, checked as upstream checks it."""
    try:
        review = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise CallError(hook, f"failed to call webhook: {exc}") from None
    if not isinstance(review, dict):
        raise CallError(hook, "received invalid webhook response: expected AdmissionReview")
    if review.get("apiVersion") != API_VERSION or review.get("kind") != "AdmissionReview":
        raise CallError(hook, f"received invalid webhook response: expected webhook response of "
                              f"{API_VERSION}, Kind=AdmissionReview, got {review.get('apiVersion')}, "
                              f"Kind={review.get('kind')}")
    response = review.get("response")
    if not isinstance(response, dict):
        raise CallError(hook, "received invalid webhook response: webhook response was absent")
    if response.get("uid") != uid:
        raise CallError(hook, f"received invalid webhook response: expected response.uid=\"{uid}\", "
                              f"got \"{response.get('uid', '')}\"")
    return response


def denial(hook: str, response: Obj) -> errors.StatusError:
    """``ToStatusErr``: the webhook's status, with upstream's message and a code of at least 400."""
    raw_status = response.get("status")
    status: Obj = raw_status if isinstance(raw_status, dict) else {}
    denied_by = f"admission webhook \"{hook}\" denied the request"
    raw_code = status.get("code")
    code = raw_code if isinstance(raw_code, int) and raw_code >= 400 else 403
    message, reason = str(status.get("message") or ""), str(status.get("reason") or "")
    text = f"{denied_by}: {message}" if message else f"{denied_by}: {reason}" if reason else \
        f"{denied_by} without explanation"
    return errors.StatusError(code, reason, text)


def patch_of(hook: str, response: Obj) -> list[Any] | None:
    """The JSON patch of a mutating webhook's response (None when it sent none)."""
    patch = response.get("patch")
    if not patch:
        return None
    if response.get("patchType") != "JSONPatch":
        raise CallError(hook, f"received invalid webhook response: unsupported patch type "
                              f"\"{response.get('patchType', '')}\"")
    try:
        ops = orjson.loads(base64.b64decode(patch, validate=True))
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
        raise CallError(hook, f"received invalid webhook response: {exc}") from None
    if not isinstance(ops, list):
        raise CallError(hook, "received invalid webhook response: the patch is not a JSON patch")
    return ops
