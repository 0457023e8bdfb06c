"""CEL validation rules (cel-python): messages, messageExpression, transition rules."""

from __future__ import annotations

from pyk8s.apiserver.apiextensions import cel

SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "x-kubernetes-validations": [
                {"rule": "self.replicas <= self.max", "message": "too many replicas"},
                {"rule": "self.name == oldSelf.name", "message": "name is immutable"},
                {"rule": "self.replicas != 4", "messageExpression": "'replicas may not be ' + string(self.replicas)"},
                {"rule": "self.replicas != 5"},
            ],
            "properties": {"replicas": {"type": "integer"}, "max": {"type": "integer"}, "name": {"type": "string"}},
        },
    },
}


def _run(obj: dict, old: dict | None = None) -> list[str]:
    rules, problems = cel.compile_schema(SCHEMA)
    assert problems == []
    return [f"{e.field}: {e.message}" for e in cel.evaluate(obj, old, SCHEMA, rules, "", old is not None)]


def test_rule_messages() -> None:
    assert _run({"spec": {"replicas": 3, "max": 2, "name": "a"}}) == [
        'spec: Invalid value: "object": too many replicas']
    assert _run({"spec": {"replicas": 4, "max": 9, "name": "a"}}) == [
        'spec: Invalid value: "object": replicas may not be 4']
    assert _run({"spec": {"replicas": 5, "max": 9, "name": "a"}}) == [
        'spec: Invalid value: "object": failed rule: self.replicas != 5']


def test_transition_rules_only_on_update() -> None:
    assert _run({"spec": {"replicas": 1, "max": 2, "name": "a"}}) == []
    assert _run({"spec": {"replicas": 1, "max": 2, "name": "b"}}, {"spec": {"replicas": 1, "max": 2, "name": "a"}}) \
        == ['spec: Invalid value: "object": name is immutable']


def test_compile_errors_are_reported() -> None:
    _, problems = cel.compile_schema({"type": "object", "x-kubernetes-validations": [{"rule": "self.x =="}]})
    assert problems and problems[0][0] == "openAPIV3Schema.x-kubernetes-validations[0].rule"


def test_root_rules_and_evaluation_errors() -> None:
    schema = {"type": "object", "x-kubernetes-validations": [
        {"rule": "self.metadata.name.startsWith('my-')"},
        {"rule": "self.spec.organization == 'x'", "message": "organization must be x"}]}
    rules, _ = cel.compile_schema(schema)
    errs = cel.evaluate({"metadata": {"name": "other"}, "spec": {}}, None, schema, rules)
    assert [f"{e.field}: {e.message}" for e in errs] == [
        "<nil>: Invalid value: \"object\": failed rule: self.metadata.name.startsWith('my-')",
        '<nil>: Invalid value: "object": no such key: organization evaluating rule: organization must be x']
