"""Field errors as values, worded the way Kubernetes words them.

Validation functions return ``list[FieldError]``; the registry turns a
non-empty list into a 422 ``Invalid`` Status whose causes kubectl prints as
``spec.containers[0].image: Required value``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pyk8s.machinery import errors

# Kubernetes' field.ErrorType: (cause reason, message prefix)
REQUIRED = ("FieldValueRequired", "Required value")
INVALID = ("FieldValueInvalid", "Invalid value")
NOT_SUPPORTED = ("FieldValueNotSupported", "Unsupported value")
FORBIDDEN = ("FieldValueForbidden", "Forbidden")
DUPLICATE = ("FieldValueDuplicate", "Duplicate value")
TOO_LONG = ("FieldValueTooLong", "Too long")
TOO_MANY = ("FieldValueTooMany", "Too many")
NOT_FOUND = ("FieldValueNotFound", "Not found")
INTERNAL = ("InternalError", "Internal error")


def _fmt_value(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


@dataclass(slots=True)
class FieldError:
    kind: tuple[str, str]
    field: str
    detail: str = ""
    value: Any = None
    has_value: bool = False

    @property
    def message(self) -> str:
        """The text after ``<field>: `` in kubectl's output."""
        reason, prefix = self.kind
        if self.kind in (REQUIRED, FORBIDDEN, TOO_LONG, TOO_MANY, INTERNAL) or not self.has_value:
            return f"{prefix}: {self.detail}" if self.detail else prefix
        text = f"{prefix}: {_fmt_value(self.value)}"
        return f"{text}: {self.detail}" if self.detail else text

    def to_cause(self) -> errors.Cause:
        return errors.Cause(self.kind[0], self.message, self.field)


def required(path: str, detail: str = "") -> FieldError:
    return FieldError(REQUIRED, path, detail)


def invalid(path: str, value: Any, detail: str = "") -> FieldError:
    return FieldError(INVALID, path, detail, value, True)


def not_supported(path: str, value: Any, supported: list[str]) -> FieldError:
    detail = "supported values: " + ", ".join(json.dumps(s) for s in supported) if supported else ""
    return FieldError(NOT_SUPPORTED, path, detail, value, True)


def forbidden(path: str, detail: str) -> FieldError:
    return FieldError(FORBIDDEN, path, detail)


def duplicate(path: str, value: Any) -> FieldError:
    return FieldError(DUPLICATE, path, "", value, True)


def too_long(path: str, max_len: int) -> FieldError:
    return FieldError(TOO_LONG, path, f"may not be more than {max_len} bytes")


def not_found(path: str, value: Any) -> FieldError:
    return FieldError(NOT_FOUND, path, "", value, True)


def to_status_error(kind: str, name: str, errs: list[FieldError], group: str = "") -> errors.StatusError:
    return errors.invalid(kind, name, [e.to_cause() for e in errs], group)
