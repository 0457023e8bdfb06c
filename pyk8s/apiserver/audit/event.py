"""One request's audit event (``audit.k8s.io/v1`` ``Event``) while the request runs.

An ``AuditEvent`` is made only for a request the policy audits at ``Metadata`` or above.  The request
path only records: who asked, what for, the status, references to the request and response bodies
and the annotations; each stage is handed to the backend as a ``Record`` snapshot, and the writer
thread turns it into the JSON line (``record.py``), so decoding bodies, dropping managedFields and
serialising never run on the event loop.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from pyk8s.apiserver.audit.policy import (
    COMPLETE,
    PANIC,
    RECEIVED,
    REQUEST,
    REQUEST_RESPONSE,
    RequestConfig,
    levels_at_least,
)
from pyk8s.apiserver.authentication.user import UserInfo
from pyk8s.apiserver.authorization.attributes import Attributes

MAX_USER_AGENT = 1024
WRITE_METHODS = frozenset({"POST", "PUT"})


def user_info(user: UserInfo | None) -> dict[str, Any]:
    """authentication.k8s.io/v1 UserInfo as the event carries it (empty when authentication failed)."""
    return {} if user is None else user.to_dict()


def object_ref(attrs: Attributes) -> dict[str, str] | None:
    if not attrs.resource_request:
        return None
    ref = {"resource": attrs.resource, "namespace": attrs.namespace, "name": attrs.name,
           "apiGroup": attrs.api_group, "apiVersion": attrs.api_version, "subresource": attrs.subresource}
    return {k: v for k, v in ref.items() if v}


def source_ips(headers: Any, remote: str | None) -> list[str]:
    """X-Forwarded-For, then X-Real-Ip, then the peer, as upstream's SourceIPs."""
    ips = [ip.strip() for ip in headers.get("X-Forwarded-For", "").split(",") if ip.strip()]
    real = headers.get("X-Real-Ip", "").strip()
    if real and real not in ips:
        ips.append(real)
    if remote and (not ips or ips[-1] != remote):
        ips.append(remote)
    return ips


def user_agent(headers: Any) -> str:
    agent = str(headers.get("User-Agent", ""))
    return agent if len(agent) <= MAX_USER_AGENT else agent[:MAX_USER_AGENT] + "...TRUNCATED"


@dataclass(slots=True)
class Record:
    """One stage of one event, as handed to the writer thread (nothing in it changes afterwards)."""

    base: dict[str, Any]  # kind .. userAgent, shared by the stages of one event
    stage: str
    impersonated: dict[str, Any] | None
    object_ref: dict[str, str] | None
    status: dict[str, Any] | None
    received: float
    at: float
    annotations: dict[str, str] | None
    request_body: bytes | None = None  # kept at Metadata too for writes: objectRef's name, uid, resourceVersion
    request_type: str = ""
    log_request: bool = False  # requestObject (Request and above)
    fill_ref: bool = False  # a written object (POST, PUT): its metadata completes objectRef
    response: bytes | dict[str, Any] | None = None  # responseObject (RequestResponse): a body or a Status
    response_type: str = ""
    omit_managed_fields: bool = False


class AuditEvent:
    """The event of one audited request; ``emit(stage)`` sends a snapshot unless the stage is omitted."""

    __slots__ = ("annotations", "base", "config", "long_running", "method", "object_ref", "received",
                 "request_body", "request_type", "response", "response_type", "sink", "status", "user", "user_now")

    def __init__(self, *, sink: Any, config: RequestConfig, audit_id: str, uri: str, attrs: Attributes,
                 user: UserInfo | None, ips: list[str], agent: str, method: str, received: float,
                 long_running: bool = False) -> None:
        self.sink, self.config, self.user, self.method, self.received = sink, config, user, method, received
        self.base = {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": config.level, "auditID": audit_id,
                     "stage": "", "requestURI": uri, "verb": attrs.verb, "user": user_info(user),
                     "sourceIPs": ips, "userAgent": agent}
        self.object_ref = object_ref(attrs)
        self.long_running = long_running  # requestinfo.long_running, as the in-flight filter and metrics read it
        self.status: dict[str, Any] | None = None
        self.annotations: dict[str, str] = {}
        self.request_body: bytes | None = None
        self.request_type = ""
        self.response: bytes | dict[str, Any] | None = None
        self.response_type = ""
        self.user_now: UserInfo | None = user  # who the request runs as after impersonation

    # --- what the request path tells it -----------------------------------------------------------

    def annotate(self, key: str, value: str) -> None:
        """Upstream's AddAuditAnnotation: the first value of a key stays."""
        self.annotations.setdefault(key, value)

    def saw_request_body(self, body: bytes, content_type: str) -> None:
        if self.method in WRITE_METHODS or levels_at_least(self.config.level, REQUEST):
            self.request_body, self.request_type = body, content_type

    def code(self, code: int) -> None:
        if self.status is None:
            self.status = {"metadata": {}, "code": code}

    def failed(self, status: dict[str, Any]) -> None:
        """A Status answer: its bounded fields, as upstream's LogResponseObject copies them."""
        out: dict[str, Any] = {"metadata": {}}
        for key in ("status", "message", "reason", "details", "code"):
            if status.get(key):
                out[key] = status[key]
        self.status = out
        if levels_at_least(self.config.level, REQUEST_RESPONSE):
            self.response, self.response_type = status, ""

    def responded(self, status: int, body: bytes | None, content_type: str) -> None:
        self.code(status)
        if body is not None and levels_at_least(self.config.level, REQUEST_RESPONSE) and not self.long_running:
            self.response, self.response_type = body, content_type

    # --- stages ------------------------------------------------------------------------------------

    def emit(self, stage: str) -> None:
        if stage in self.config.omit_stages:
            return
        received = stage == RECEIVED
        impersonated = None
        if self.user_now is not None and self.user_now is not self.user:
            impersonated = self.user_now.to_dict()
        self.sink.put(Record(
            base=self.base, stage=stage, impersonated=impersonated,
            object_ref=dict(self.object_ref) if self.object_ref is not None else None,
            status=None if received else self.status, received=self.received, at=time.time(),
            annotations=dict(self.annotations) if self.annotations and not received else None,
            request_body=None if received else self.request_body, request_type=self.request_type,
            log_request=levels_at_least(self.config.level, REQUEST), fill_ref=self.method in WRITE_METHODS,
            response=self.response if stage in (COMPLETE, PANIC) else None, response_type=self.response_type,
            omit_managed_fields=self.config.omit_managed_fields))


#: The audited request being served, for code below the filters (admission plugins add annotations).
CURRENT: ContextVar[AuditEvent | None] = ContextVar("pyk8s.audit.event", default=None)


def annotate(key: str, value: str) -> None:
    """Add an annotation to the current request's audit event, if it is audited."""
    event = CURRENT.get()
    if event is not None:
        event.annotate(key, value)
