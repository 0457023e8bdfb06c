"""Field selectors: the ``fieldSelector`` query string.

A field selector is an AND of ``path=value``, ``path==value`` or
``path!=value`` terms (Kubernetes' ``fields.ParseSelector``).  Backslash
escapes ``\\,``, ``\\=`` and ``\\\\`` let values hold separators.  Which paths
are selectable is decided per kind by the caller (``Strategy.field_selectors``
plus ``metadata.name``/``metadata.namespace``); an unknown path is a 400 with
the text the API server uses: ``field label not supported: <path>``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pyk8s.machinery.errors import bad_request

EQUALS = "="
DOUBLE_EQUALS = "=="
NOT_EQUALS = "!="


@dataclass(frozen=True, slots=True)
class Term:
    field: str
    operator: str  # "=", "==" or "!="
    value: str

    def matches(self, actual: str | None) -> bool:
        have = actual if actual is not None else ""
        return (have == self.value) != (self.operator == NOT_EQUALS)

    def __str__(self) -> str:
        return f"{self.field}{self.operator}{escape_value(self.value)}"


def escape_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def _unescape(value: str, whole: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\":
            if i + 1 >= len(value) or value[i + 1] not in "\\,=":
                raise bad_request(f"invalid field selector: '{whole}'; invalid escape sequence")
            out.append(value[i + 1])
            i += 2
            continue
        if ch in ",=":
            raise bad_request(f"invalid field selector: '{whole}'; unescaped '{ch}' in value")
        out.append(ch)
        i += 1
    return "".join(out)


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    cur: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            cur.append(text[i:i + 2])
            i += 2
            continue
        if ch == sep:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return parts


def _find_operator(part: str) -> tuple[int, str] | None:
    """Position and operator of the first unescaped operator, preferring != and == over =."""
    i = 0
    while i < len(part):
        if part[i] == "\\":
            i += 2
            continue
        for op in (NOT_EQUALS, DOUBLE_EQUALS, EQUALS):
            if part.startswith(op, i):
                return i, op
        i += 1
    return None


@dataclass(frozen=True, slots=True)
class FieldSelector:
    terms: tuple[Term, ...] = ()

    def empty(self) -> bool:
        return not self.terms

    def matches(self, getter: Callable[[str], str | None]) -> bool:
        """``getter(path)`` returns the object's value for a selectable path (None = unset)."""
        return all(t.matches(getter(t.field)) for t in self.terms)

    def fields(self) -> list[str]:
        return [t.field for t in self.terms]

    def check_allowed(self, allowed: Iterable[str]) -> None:
        """400 ``field label not supported: <path>`` for a path the kind cannot select on."""
        ok = set(allowed)
        for t in self.terms:
            if t.field not in ok:
                raise bad_request(f"field label not supported: {t.field}")

    def requires_exact_match(self, field: str) -> str | None:
        for t in self.terms:
            if t.field == field and t.operator in (EQUALS, DOUBLE_EQUALS):
                return t.value
        return None

    def __str__(self) -> str:
        return ",".join(str(t) for t in self.terms)


def parse(text: str, allowed: Iterable[str] | None = None) -> FieldSelector:
    """Parse a ``fieldSelector``; raises a 400 StatusError on bad syntax or a field not in ``allowed``."""
    terms: list[Term] = []
    for part in _split_unescaped(text, ","):
        if not part:
            continue
        found = _find_operator(part)
        if found is None:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        pos, op = found
        terms.append(Term(part[:pos].strip(), op, _unescape(part[pos + len(op):], text)))
    selector = FieldSelector(tuple(terms))
    if allowed is not None:
        selector.check_allowed(allowed)
    return selector


def object_getter(obj: dict, extra: dict[str, Callable[[dict], str]] | None = None) -> Callable[[str], str | None]:
    """A getter over an API object: ``metadata.name``/``metadata.namespace`` plus per-kind extractors.

    Unknown paths fall back to walking the dotted path through dicts, so a
    caller that has already checked ``allowed`` gets a sensible value.
    """
    extra = extra or {}

    def get(path: str) -> str | None:
        if path in extra:
            return extra[path](obj)
        cur: object = obj
        for part in path.split("."):
            if not isinstance(cur, dict) or part not in cur:
                return None
            cur = cur[part]
        if cur is None:
            return None
        if isinstance(cur, bool):
            return "true" if cur else "false"
        return str(cur)

    return get


__all__ = ["FieldSelector", "Term", "escape_value", "object_getter", "parse"]
