"""A ``Record`` turned into its JSON line, in the writer thread (never on the event loop).

The fields come in ``audit.k8s.io/v1`` Event's order.  Bodies are decoded here: a JSON or YAML request
(or protobuf, as kubectl sends) becomes ``requestObject`` (the object as the client sent it; a patch as
its patch document) and fills the empty ``name``, ``namespace``, ``uid`` and ``resourceVersion`` of
``objectRef`` from a written object's metadata, as upstream's LogRequestObject; a JSON response becomes
``responseObject``.  ``omitManagedFields`` drops ``metadata.managedFields`` from both objects (and from
a list's items).
"""

from __future__ import annotations

import datetime
from typing import Any

import orjson
import yaml

from pyk8s.apiserver.audit.event import Record
from pyk8s.machinery.errors import StatusError

PROTOBUF = "application/vnd.kubernetes.protobuf"
_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "application/apply-patch+yaml")
_REF_FIELDS = (("namespace", "namespace"), ("name", "name"), ("uid", "uid"), ("resourceVersion", "resourceVersion"))


def micro_time(seconds: float) -> str:
    """metav1.MicroTime: RFC 3339 with microseconds, UTC."""
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _decode(body: bytes, content_type: str) -> Any:
    if not body.strip():
        return None
    try:
        if content_type in ("", "application/json") or content_type.endswith("+json"):
            return orjson.loads(body)
        if content_type in _YAML_TYPES:
            return yaml.safe_load(body)
        if content_type == PROTOBUF:
            from pyk8s.apiserver.endpoints.negotiation import decode_object  # it reads the audit context

            return decode_object(content_type, body)
    except (ValueError, yaml.YAMLError, StatusError):  # a body the endpoint refused as well
        return None
    return None


def _without_managed_fields(obj: Any) -> Any:
    if not isinstance(obj, dict):
        return obj
    meta = obj.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        obj = {**obj, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}
    items = obj.get("items")
    if isinstance(items, list):
        obj = {**obj, "items": [_without_managed_fields(i) for i in items]}
    return obj


def _fill_ref(ref: dict[str, str], obj: Any) -> None:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    if not isinstance(meta, dict):
        return
    for field, key in _REF_FIELDS:
        if not ref.get(field) and isinstance(meta.get(key), str) and meta[key]:
            ref[field] = meta[key]


def _response(rec: Record) -> Any:
    body = rec.response
    assert isinstance(body, bytes)
    if (not rec.omit_managed_fields and rec.response_type == "application/json" and b"\n" not in body
            and body[:1] == b"{"):
        return orjson.Fragment(body)  # a one-line JSON object goes in as it is: no decode, no re-encode
    return _decode(body, rec.response_type)


def to_dict(rec: Record) -> dict[str, Any]:
    base = rec.base
    event = {"kind": base["kind"], "apiVersion": base["apiVersion"], "level": base["level"],
             "auditID": base["auditID"], "stage": rec.stage, "requestURI": base["requestURI"], "verb": base["verb"],
             "user": base["user"]}
    if rec.impersonated is not None:
        event["impersonatedUser"] = rec.impersonated
    event["sourceIPs"], event["userAgent"] = base["sourceIPs"], base["userAgent"]
    request_object = response_object = None
    if rec.request_body is not None:
        request_object = _decode(rec.request_body, rec.request_type)
        if rec.fill_ref and rec.object_ref is not None:
            _fill_ref(rec.object_ref, request_object)
    if rec.response is not None:
        response_object = rec.response if isinstance(rec.response, dict) else _response(rec)
    if rec.object_ref is not None:
        event["objectRef"] = rec.object_ref
    if rec.status is not None:
        event["responseStatus"] = rec.status
    if rec.omit_managed_fields:
        request_object, response_object = _without_managed_fields(request_object), \
            _without_managed_fields(response_object)
    if rec.log_request and request_object is not None:
        event["requestObject"] = request_object
    if response_object is not None:
        event["responseObject"] = response_object
    event["requestReceivedTimestamp"] = micro_time(rec.received)
    event["stageTimestamp"] = micro_time(rec.at)
    if rec.annotations:
        event["annotations"] = rec.annotations
    return event


def to_line(rec: Record) -> bytes:
    return orjson.dumps(to_dict(rec)) + b"\n"
