"""Client-side view of API failures.

The server answers every failure with a ``Status`` body; ``ApiError`` keeps
that Status (``code``, ``reason``, ``message``, ``details``) so callers branch
on values: ``e.code == 409``, ``is_not_found(e)``, ``is_conflict(e)``.  A
watch ``ERROR`` event carries a Status too and is raised the same way.
Network failures stay ordinary ``aiohttp``/``OSError`` exceptions.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    def __init__(self, status: dict[str, Any], *, code: int | None = None) -> None:
        self.status = status
        self.code: int = int(status.get("code") or code or 0)
        self.reason: str = str(status.get("reason") or "")
        self.message: str = str(status.get("message") or "")
        self.details: dict[str, Any] = status.get("details") or {}
        super().__init__(f"({self.code} {self.reason}) {self.message}")

    @classmethod
    def from_response(cls, code: int, body: bytes) -> ApiError:
        """Build from an HTTP error reply; a non-Status body becomes the message."""
        import orjson

        try:
            doc = orjson.loads(body) if body else {}
        except orjson.JSONDecodeError:
            doc = {}
        if not isinstance(doc, dict) or doc.get("kind") != "Status":
            doc = {"kind": "Status", "status": "Failure", "code": code,
                   "reason": _REASONS.get(code, "Unknown"), "message": body.decode(errors="replace").strip()}
        return cls(doc, code=code)


_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
            409: "Conflict", 410: "Expired", 415: "UnsupportedMediaType", 422: "Invalid",
            429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}


def _code(err: BaseException) -> int:
    return err.code if isinstance(err, ApiError) else 0


def is_not_found(err: BaseException) -> bool:
    return _code(err) == 404


def is_already_exists(err: BaseException) -> bool:
    return _code(err) == 409 and isinstance(err, ApiError) and err.reason == "AlreadyExists"


def is_namespace_terminating(err: BaseException) -> bool:
    """403 because the object's namespace is being deleted (NamespaceLifecycle's refusal)."""
    return _code(err) == 403 and isinstance(err, ApiError) and "because it is being terminated" in err.message


def is_conflict(err: BaseException) -> bool:
    """409 for a stale resourceVersion (reason Conflict), not AlreadyExists."""
    return _code(err) == 409 and isinstance(err, ApiError) and err.reason != "AlreadyExists"


def is_gone(err: BaseException) -> bool:
    """410: the resourceVersion (or continue token) is older than the server keeps."""
    return _code(err) == 410


def is_invalid(err: BaseException) -> bool:
    return _code(err) == 422


def is_forbidden(err: BaseException) -> bool:
    return _code(err) == 403


def is_retryable(err: BaseException) -> bool:
    """Server overload or a transient failure: try again later."""
    return _code(err) in (429, 500, 503, 504)
