"""API errors as values that map one-to-one onto a Kubernetes ``Status``.

Every failure that reaches a client is a ``StatusError``: it carries the HTTP
code, the ``reason`` string Kubernetes uses and the message kubectl prints
(``Error from server (<reason>): <message>``).  Handlers raise these; the HTTP
layer turns them into a Status body.  Anything else that escapes is a bug and
becomes a 500 InternalError.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Cause:
    reason: str  # e.g. FieldValueRequired, FieldValueInvalid
    message: str
    field: str = ""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"reason": self.reason, "message": self.message}
        if self.field:
            d["field"] = self.field
        return d


@dataclass
class StatusError(Exception):
    code: int
    reason: str
    message: str
    name: str = ""
    group: str = ""
    kind: str = ""  # the plural resource (or Kind for Invalid), as Kubernetes fills details.kind
    causes: list[Cause] = field(default_factory=list)
    retry_after_seconds: int = 0

    def __post_init__(self) -> None:
        Exception.__init__(self, self.message)

    def to_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        details: dict[str, Any] = {}
        if self.name:
            details["name"] = self.name
        if self.group:
            details["group"] = self.group
        if self.kind:
            details["kind"] = self.kind
        if self.causes:
            details["causes"] = [c.to_dict() for c in self.causes]
        if self.retry_after_seconds:
            details["retryAfterSeconds"] = self.retry_after_seconds
        if details:
            status["details"] = details
        status["code"] = self.code  # last, as metav1.Status's fields are ordered in Go
        return status


def qualified(resource: str, group: str) -> str:
    """``deployments.apps`` for grouped resources, ``pods`` for core ones."""
    return f"{resource}.{group}" if group else resource


def not_found(resource: str, name: str, group: str = "") -> StatusError:
    return StatusError(404, "NotFound", f'{qualified(resource, group)} "{name}" not found',
                       name=name, group=group, kind=resource)


def already_exists(resource: str, name: str, group: str = "") -> StatusError:
    return StatusError(409, "AlreadyExists", f'{qualified(resource, group)} "{name}" already exists',
                       name=name, group=group, kind=resource)


def conflict(resource: str, name: str, group: str = "", detail: str = "") -> StatusError:
    detail = detail or "the object has been modified; please apply your changes to the latest version and try again"
    return StatusError(409, "Conflict", f'Operation cannot be fulfilled on {qualified(resource, group)} "{name}": {detail}',
                       name=name, group=group, kind=resource)


def invalid(kind: str, name: str, causes: list[Cause], group: str = "") -> StatusError:
    """422 with the message kubectl prints: ``Pod "x" is invalid: a: Required value, b: ...``."""
    parts = [f"{c.field}: {c.message}" if c.field else c.message for c in causes]
    if len(parts) == 1:
        summary = parts[0]
    else:
        summary = "[" + ", ".join(parts) + "]"
    return StatusError(422, "Invalid", f'{kind}{"." + group if group else ""} "{name}" is invalid: {summary}',
                       name=name, group=group, kind=kind, causes=causes)


def bad_request(message: str) -> StatusError:
    return StatusError(400, "BadRequest", message)


def gone(message: str = "too old resource version") -> StatusError:
    return StatusError(410, "Expired", message)


def method_not_allowed(message: str = "the server does not allow this method on the requested resource") -> StatusError:
    return StatusError(405, "MethodNotAllowed", message)


def unsupported_media_type(content_type: str) -> StatusError:
    return StatusError(415, "UnsupportedMediaType", f'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got "{content_type}")')


def too_large(message: str = "the request is too large") -> StatusError:
    """413 worded as upstream's ``NewRequestEntityTooLargeError``."""
    return StatusError(413, "RequestEntityTooLarge", f"Request entity too large: {message}")


def unauthorized(message: str = "Unauthorized") -> StatusError:
    return StatusError(401, "Unauthorized", message)


def forbidden(message: str, resource: str = "", name: str = "", group: str = "") -> StatusError:
    """403; with a resource, worded as upstream's ``NewForbidden``: ``configmaps "x" is forbidden: why``."""
    if resource:
        what = qualified(resource, group) + (f' "{name}"' if name else "")
        return StatusError(403, "Forbidden", f"{what} is forbidden: {message}", name=name, group=group, kind=resource)
    return StatusError(403, "Forbidden", message)


def internal(message: str) -> StatusError:
    return StatusError(500, "InternalError", message)


def resource_not_found_for_path(path: str) -> StatusError:
    return StatusError(404, "NotFound", "the server could not find the requested resource")
