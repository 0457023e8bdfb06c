"""Label selectors: the ``labelSelector`` query string and ``metav1.LabelSelector``.

A selector is an AND of requirements.  Each requirement is a key, an operator
and a set of values, exactly the model Kubernetes' ``labels.Selector`` uses, so
that one parsed form serves list filtering, watch filtering, controllers
(``spec.selector``) and the canonical text kubectl prints (Deployment SELECTOR
column, ``status.selector`` of a Scale).

The string grammar is::

    selector    ::= requirement ("," requirement)*
    requirement ::= ["!"] KEY [ ("in"|"notin") "(" VALUES ")" | ("="|"=="|"!="|">"|"<") VALUE ]

The lexer mirrors Kubernetes' behaviour (``in``/``notin`` are operators only in
operator position, whitespace separates tokens, an empty value is allowed), and
parse errors carry the same wording so kubectl users see familiar messages.
Requirements are kept sorted by key (stable), which gives the canonical string.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pyk8s.machinery.errors import StatusError, bad_request

EXISTS = "exists"
DOES_NOT_EXIST = "!"
EQUALS = "="
DOUBLE_EQUALS = "=="
NOT_EQUALS = "!="
IN = "in"
NOT_IN = "notin"
GREATER_THAN = "gt"
LESS_THAN = "lt"

_BINARY_OPERATORS = "in, notin, =, ==, !=, gt, lt"

_QUALIFIED_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

_NAME_PART_MSG = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                  "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
                  "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
              "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
              "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")


class SelectorError(ValueError):
    """A selector that does not parse or validate; ``to_status`` makes it a 400."""

    def to_status(self) -> StatusError:
        return bad_request(str(self))


def _key_errors(key: str) -> list[str]:
    errs: list[str] = []
    prefix, slash, name = key.rpartition("/")
    if slash and not prefix:
        errs.append("prefix part must be non-empty")
    elif prefix:
        if len(prefix) > 253:
            errs.append("prefix part must be no more than 253 characters")
        if not _DNS1123_SUBDOMAIN.match(prefix):
            errs.append("prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                        "characters, '-' or '.', and must start and end with an alphanumeric character (e.g. "
                        "'example.com', regex used for validation is "
                        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
    if not name:
        errs.append("name part must be non-empty")
    else:
        if len(name) > 63:
            errs.append("name part must be no more than 63 characters")
        if not _QUALIFIED_PART.match(name):
            errs.append(_NAME_PART_MSG)
    return errs


def _value_errors(value: str) -> list[str]:
    errs: list[str] = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not _LABEL_VALUE.match(value):
        errs.append(_VALUE_MSG)
    return errs


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        if op in (EQUALS, DOUBLE_EQUALS, IN):
            return self.key in labels and labels[self.key] in self.values
        if op in (NOT_EQUALS, NOT_IN):
            return self.key not in labels or labels[self.key] not in self.values
        if op == EXISTS:
            return self.key in labels
        if op == DOES_NOT_EXIST:
            return self.key not in labels
        if op in (GREATER_THAN, LESS_THAN):
            if self.key not in labels:
                return False
            try:
                have = int(labels[self.key])
                want = int(self.values[0])
            except (ValueError, IndexError):
                return False
            return have > want if op == GREATER_THAN else have < want
        return False

    def __str__(self) -> str:
        op = self.operator
        if op == EXISTS:
            return self.key
        if op == DOES_NOT_EXIST:
            return "!" + self.key
        if op in (IN, NOT_IN):
            return f"{self.key} {op} ({','.join(self.values)})"
        sym = {GREATER_THAN: ">", LESS_THAN: "<"}.get(op, op)
        return f"{self.key}{sym}{self.values[0] if self.values else ''}"


def new_requirement(key: str, operator: str, values: Iterable[str] = ()) -> Requirement:
    """Validate and build one requirement (Kubernetes' ``labels.NewRequirement``)."""
    vals = sorted(set(values))
    errs = _key_errors(key)
    if errs:
        raise SelectorError(f"key: Invalid value: {_quote(key)}: {'; '.join(errs)}")
    if operator in (IN, NOT_IN):
        if not vals:
            raise SelectorError("values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty")
    elif operator in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS):
        if len(vals) != 1:
            raise SelectorError("values: Invalid value: exact-match compatibility requires one single value")
    elif operator in (EXISTS, DOES_NOT_EXIST):
        if vals:
            raise SelectorError("values: Invalid value: values set must be empty for exists and does not exist")
    elif operator in (GREATER_THAN, LESS_THAN):
        if len(vals) != 1:
            raise SelectorError("values: Invalid value: for 'Gt', 'Lt' operators, exactly one value is required")
        try:
            int(vals[0])
        except ValueError:
            raise SelectorError(f"values[0]: Invalid value: {_quote(vals[0])}: for 'Gt', 'Lt' operators, "
                                "the value must be an integer") from None
    else:
        raise SelectorError(f"operator: Unsupported value: {_quote(operator)}")
    for i, v in enumerate(vals):
        verrs = _value_errors(v)
        if verrs:
            raise SelectorError(f"values[{i}][{key}]: Invalid value: {_quote(v)}: {'; '.join(verrs)}")
    return Requirement(key, operator, tuple(vals))


@dataclass(frozen=True, slots=True)
class Selector:
    """An AND of requirements; ``nothing=True`` is the selector that matches nothing."""

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self.nothing:
            return False
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    def empty(self) -> bool:
        """True when the selector selects everything."""
        return not self.nothing and not self.requirements

    def requires_exact_match(self, key: str) -> str | None:
        """The single value ``key`` must have (``k=v``, ``k==v``, ``k in (v)``), else None."""
        for r in self.requirements:
            if r.key == key and r.operator in (EQUALS, DOUBLE_EQUALS, IN) and len(r.values) == 1:
                return r.values[0]
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


EVERYTHING = Selector()
NOTHING = Selector(nothing=True)


def _sorted(reqs: Iterable[Requirement]) -> Selector:
    return Selector(tuple(sorted(reqs, key=lambda r: r.key)))


# --- lexer -----------------------------------------------------------------

_SPECIAL = "=!(),><"
_WHITESPACE = " \t\r\n"
_TOKENS = {")": "CLOSE", ",": "COMMA", "!": "NOT", "==": "DEQ", "=": "EQ", ">": "GT", "in": "IN",
           "<": "LT", "!=": "NEQ", "notin": "NOTIN", "(": "OPEN"}


def _lex(s: str) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    i, n = 0, len(s)
    while True:
        while i < n and s[i] in _WHITESPACE:
            i += 1
        if i >= n:
            items.append(("END", ""))
            return items
        if s[i] in _SPECIAL:
            # Longest run of special characters that is still a known operator.
            j, best = i, None
            while j < n and s[j] in _SPECIAL:
                j += 1
                if s[i:j] in _TOKENS:
                    best = j
                elif best is not None:
                    break
            if best is None:
                items.append(("ERROR", f"error expected: keyword found '{s[i:j]}'"))
                i = j
                continue
            items.append((_TOKENS[s[i:best]], s[i:best]))
            i = best
            continue
        j = i
        while j < n and s[j] not in _SPECIAL and s[j] not in _WHITESPACE:
            j += 1
        word = s[i:j]
        items.append((_TOKENS.get(word, "ID"), word))
        i = j


class _Parser:
    def __init__(self, text: str) -> None:
        self.items = _lex(text)
        self.pos = 0

    def _look(self, values: bool = True) -> tuple[str, str]:
        tok, lit = self.items[self.pos]
        if values and tok in ("IN", "NOTIN"):
            tok = "ID"
        return tok, lit

    def _take(self, values: bool = True) -> tuple[str, str]:
        item = self._look(values)
        self.pos += 1
        return item

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            tok, lit = self._look()
            if tok == "END":
                return reqs
            if tok not in ("ID", "NOT"):
                raise SelectorError(f"found '{lit}', expected: !, identifier, or 'end of string'")
            try:
                reqs.append(self._requirement())
            except SelectorError as e:
                raise SelectorError(f"unable to parse requirement: {e}") from None
            tok, lit = self._take()
            if tok == "END":
                return reqs
            if tok != "COMMA":
                raise SelectorError(f"found '{lit}', expected: ',' or 'end of string'")
            tok2, lit2 = self._look()
            if tok2 not in ("ID", "NOT"):
                raise SelectorError(f"found '{lit2}', expected: identifier after ','")

    def _requirement(self) -> Requirement:
        negate = False
        tok, lit = self._take()
        if tok == "NOT":
            negate = True
            tok, lit = self._take()
        if tok != "ID":
            raise SelectorError(f"found '{lit}', expected: identifier")
        key = lit
        errs = _key_errors(key)
        if errs:
            raise SelectorError(f"<nil>: Invalid value: {_quote(key)}: {'; '.join(errs)}")
        if negate:
            # "!k" is complete by itself; anything after it fails in the caller.
            return new_requirement(key, DOES_NOT_EXIST)
        if self._look()[0] in ("END", "COMMA"):
            return new_requirement(key, EXISTS)
        tok, lit = self._take(values=False)
        ops = {"IN": IN, "NOTIN": NOT_IN, "EQ": EQUALS, "DEQ": DOUBLE_EQUALS, "NEQ": NOT_EQUALS,
               "GT": GREATER_THAN, "LT": LESS_THAN}
        if tok not in ops:
            raise SelectorError(f"found '{lit}', expected: {_BINARY_OPERATORS}")
        op = ops[tok]
        values = self._set_values() if op in (IN, NOT_IN) else self._exact_value()
        return new_requirement(key, op, values)

    def _set_values(self) -> set[str]:
        tok, lit = self._take()
        if tok != "OPEN":
            raise SelectorError(f"found '{lit}' expected: '('")
        tok, lit = self._look()
        if tok == "CLOSE":
            self._take()
            return {""}
        if tok not in ("ID", "COMMA"):
            raise SelectorError(f"found '{lit}', expected: ',', ')' or identifier")
        values = self._identifiers()
        if self._take()[0] != "CLOSE":
            raise SelectorError(f"found '{lit}', expected: ')'")
        return values

    def _identifiers(self) -> set[str]:
        values: set[str] = set()
        while True:
            tok, lit = self._take()
            if tok == "ID":
                values.add(lit)
                tok2, lit2 = self._look()
                if tok2 == "COMMA":
                    continue
                if tok2 == "CLOSE":
                    return values
                raise SelectorError(f"found '{lit2}', expected: ',' or ')'")
            if tok == "COMMA":
                # Empty entries ("(,a)", "(a,)", "(a,,b)") stand for the empty value.
                if not values:
                    values.add("")
                tok2, _ = self._look()
                if tok2 == "CLOSE":
                    values.add("")
                    return values
                if tok2 == "COMMA":
                    self._take()
                    values.add("")
                continue
            raise SelectorError(f"found '{lit}', expected: ',', or identifier")

    def _exact_value(self) -> set[str]:
        tok, _ = self._look()
        if tok in ("END", "COMMA"):
            return {""}
        tok, lit = self._take()
        if tok == "ID":
            return {lit}
        raise SelectorError(f"found '{lit}', expected: identifier")


def parse(text: str) -> Selector:
    """Parse a ``labelSelector`` string; raises SelectorError (use ``parse_or_400`` in handlers)."""
    if not text.strip():
        return EVERYTHING
    return _sorted(_Parser(text).parse())


def parse_or_400(text: str) -> Selector:
    """Parse a ``labelSelector`` query parameter, raising a 400 BadRequest StatusError."""
    try:
        return parse(text)
    except SelectorError as e:
        raise e.to_status() from None


_EXPRESSION_OPS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}


def from_label_selector(selector: Mapping[str, Any] | None) -> Selector:
    """metav1.LabelSelector -> Selector (``LabelSelectorAsSelector``).

    ``None`` selects nothing, ``{}`` selects everything (as upstream).
    """
    if selector is None:
        return NOTHING
    match_labels = selector.get("matchLabels") or {}
    exprs = selector.get("matchExpressions") or []
    if not match_labels and not exprs:
        return EVERYTHING
    reqs = [new_requirement(k, EQUALS, [str(v)]) for k, v in sorted(match_labels.items())]
    for expr in exprs:
        op = expr.get("operator", "")
        if op not in _EXPRESSION_OPS:
            raise SelectorError(f'"{op}" is not a valid label selector operator')
        reqs.append(new_requirement(expr.get("key", ""), _EXPRESSION_OPS[op], expr.get("values") or []))
    return _sorted(reqs)


def from_set(labels: Mapping[str, str] | None) -> Selector:
    """The selector matching exactly these labels (``SelectorFromSet``; empty -> everything)."""
    if not labels:
        return EVERYTHING
    return _sorted(Requirement(k, EQUALS, (v,)) for k, v in labels.items())


def to_string(selector: Mapping[str, Any] | None) -> str:
    """Canonical string of a metav1.LabelSelector, ``""`` when it selects everything or nothing."""
    try:
        return str(from_label_selector(selector))
    except SelectorError:
        return "<error>"


def format_label_selector(selector: Mapping[str, Any] | None) -> str:
    """What kubectl's printers show (``FormatLabelSelector``): ``<none>`` for an empty result."""
    return to_string(selector) or "<none>"


def matches_label_selector(selector: Mapping[str, Any] | None, labels: Mapping[str, str] | None) -> bool:
    """Convenience: does a metav1.LabelSelector dict select these labels? (invalid -> False)."""
    try:
        return from_label_selector(selector).matches(labels)
    except SelectorError:
        return False
