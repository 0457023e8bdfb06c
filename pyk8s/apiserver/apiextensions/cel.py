"""CEL validation rules (``x-kubernetes-validations``) of a CRD's schema, on cel-python.

Each rule is compiled once, when its CRD is served; ``evaluate`` walks the
object beside the schema and runs every rule with ``self`` bound to the value
at the rule's node and, for transition rules (those that name ``oldSelf``),
``oldSelf`` bound to the value before an update.  A transition rule is not run
on create, nor where no old value exists (unless ``optionalOldSelf``), as upstream.

A failed rule reports its ``message`` (or the result of ``messageExpression``,
or ``failed rule: <rule>``) as a field error on the node, or on ``fieldPath``
below it, whose value is the schema type of the node, as upstream::

    spec: Invalid value: "object": replicas must not exceed maxReplicas
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

import celpy
from celpy import celparser, evaluation

from pyk8s.machinery.validation import DUPLICATE, FORBIDDEN, INVALID, REQUIRED, FieldError

log = logging.getLogger("pyk8s.apiserver.apiextensions.cel")
Obj = dict[str, Any]
RULES = "x-kubernetes-validations"
_REASONS = {"FieldValueInvalid": INVALID, "FieldValueForbidden": FORBIDDEN, "FieldValueRequired": REQUIRED,
            "FieldValueDuplicate": DUPLICATE}
_ENV = celpy.Environment()


class CompileError(ValueError):
    """A rule that does not compile; the text says why."""


@dataclass(slots=True)
class Rule:
    text: str
    program: Any
    message: str
    message_program: Any
    reason: str
    field_path: str
    transition: bool
    optional_old_self: bool


def compile_rule(spec: Obj) -> Rule:
    text = str(spec.get("rule") or "")
    try:
        program = _ENV.program(_ENV.compile(text))
    except (celparser.CELParseError, evaluation.CELSyntaxError, Exception) as exc:  # noqa: BLE001 - any parse failure
        raise CompileError(f"compilation failed: {exc}".splitlines()[0]) from None
    message_program = None
    if spec.get("messageExpression"):
        try:
            message_program = _ENV.program(_ENV.compile(str(spec["messageExpression"])))
        except Exception as exc:  # noqa: BLE001
            raise CompileError(f"messageExpression compilation failed: {exc}".splitlines()[0]) from None
    return Rule(text, program, str(spec.get("message") or ""), message_program,
                str(spec.get("reason") or "FieldValueInvalid"), str(spec.get("fieldPath") or ""),
                "oldSelf" in text, bool(spec.get("optionalOldSelf")))


def compile_schema(schema: Any, path: str = "openAPIV3Schema") -> tuple[dict[int, list[Rule]], list[tuple[str, str]]]:
    """Every rule under a schema, keyed by the id() of the node holding it; plus (path, error) of rules that fail."""
    compiled: dict[int, list[Rule]] = {}
    problems: list[tuple[str, str]] = []
    _compile_walk(schema, path, compiled, problems)
    return compiled, problems


def _compile_walk(schema: Any, path: str, out: dict[int, list[Rule]], problems: list[tuple[str, str]]) -> None:
    if not isinstance(schema, dict):
        return
    rules = schema.get(RULES)
    if isinstance(rules, list):
        for i, spec in enumerate(rules):
            if not isinstance(spec, dict):
                continue
            try:
                out.setdefault(id(schema), []).append(compile_rule(spec))
            except CompileError as exc:
                problems.append((f"{path}.{RULES}[{i}].rule", str(exc)))
    for key, sub in (schema.get("properties") or {}).items():
        _compile_walk(sub, f"{path}.properties[{key}]", out, problems)
    if isinstance(schema.get("items"), dict):
        _compile_walk(schema["items"], f"{path}.items", out, problems)
    if isinstance(schema.get("additionalProperties"), dict):
        _compile_walk(schema["additionalProperties"], f"{path}.additionalProperties", out, problems)


def evaluate(value: Any, old: Any, schema: Obj, rules: dict[int, list[Rule]], path: str = "",
             has_old: bool = False) -> list[FieldError]:
    """Run the rules over ``value`` (and ``old`` for transition rules); the field errors of those that fail."""
    errs: list[FieldError] = []
    if not rules or value is None:
        return errs
    for rule in rules.get(id(schema), ()):
        if rule.transition and not has_old and not rule.optional_old_self:
            continue
        err = _run(rule, value, old, has_old, schema, path)
        if err is not None:
            errs.append(err)
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        old_map = old if has_old and isinstance(old, dict) else {}
        for key, item in value.items():
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            if sub is None or (path == "" and key in ("metadata", "apiVersion", "kind")):
                continue
            sub_path = f"{path}.{key}" if path else key
            errs += evaluate(item, old_map.get(key), sub, rules, sub_path, key in old_map)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        items = schema["items"]
        # Old items are paired by position only for map lists (by key) as upstream; positions elsewhere.
        for i, item in enumerate(value):
            old_item, found = _old_item(item, i, old if has_old else None, schema)
            errs += evaluate(item, old_item, items, rules, f"{path}[{i}]", found)
    return errs


def _old_item(item: Any, index: int, old: Any, schema: Obj) -> tuple[Any, bool]:
    if not isinstance(old, list):
        return None, False
    if schema.get("x-kubernetes-list-type") == "map" and isinstance(item, dict):
        keys = schema.get("x-kubernetes-list-map-keys") or []
        for candidate in old:
            if isinstance(candidate, dict) and all(candidate.get(k) == item.get(k) for k in keys):
                return candidate, True
        return None, False
    return None, False


def _schema_type(schema: Obj) -> str:
    if schema.get("x-kubernetes-int-or-string"):
        return "integer"  # what upstream shows for an int-or-string node
    return str(schema.get("type") or "object")


def _run(rule: Rule, value: Any, old: Any, has_old: bool, schema: Obj, path: str) -> FieldError | None:
    activation: Obj = {"self": celpy.json_to_cel(value)}
    if rule.transition:
        activation["oldSelf"] = celpy.json_to_cel(old) if has_old else celpy.json_to_cel(None)
    try:
        result = rule.program.evaluate(activation)
    except evaluation.CELEvalError as exc:
        result = exc
    if isinstance(result, evaluation.CELEvalError):
        # upstream: "<error> evaluating rule: <message, or the rule>", e.g. "no such key: x evaluating rule: ..."
        return _error(rule, path, schema, f"{_go_error(result)} evaluating rule: {rule.message or rule.text}")
    if bool(result):
        return None
    message = rule.message or f"failed rule: {rule.text}"
    if rule.message_program is not None:
        try:
            text = rule.message_program.evaluate(activation)
            if isinstance(text, str) and text.strip() and "\n" not in text:
                message = str(text)
        except evaluation.CELEvalError as exc:
            log.debug("messageExpression failed: %s", exc)
    return _error(rule, path, schema, message)


def _go_error(exc: evaluation.CELEvalError) -> str:
    text = str(exc.args[0] if exc.args else exc)
    missing = re.match(r"no such member in mapping: '(.*)'", text)
    return f"no such key: {missing.group(1)}" if missing else text


def _error(rule: Rule, path: str, schema: Obj, message: str) -> FieldError:
    where = path + rule.field_path if rule.field_path else path
    where = where.lstrip(".") or "<nil>"  # a rule at the root: upstream's nil field path
    kind = _REASONS.get(rule.reason, INVALID)
    if kind == INVALID:
        return FieldError(INVALID, where, message, _schema_type(schema), True)
    return FieldError(kind, where, message)
