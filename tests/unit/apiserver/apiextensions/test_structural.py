"""Structural schemas applied to custom objects: upstream's messages, defaults, pruning."""

from __future__ import annotations

from pyk8s.apiserver.apiextensions import structural

SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["size"],
            "properties": {
                "size": {"type": "integer", "minimum": 1, "maximum": 10, "default": 3},
                "name": {"type": "string", "maxLength": 5, "pattern": "^[a-z]+$"},
                "mode": {"type": "string", "enum": ["a", "b"]},
                "port": {"x-kubernetes-int-or-string": True},
                "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set",
                         "maxItems": 2},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "when": {"type": "string", "format": "date-time"},
                "opt": {"type": "string", "nullable": True},
            },
        },
    },
}


def _messages(obj: dict) -> list[str]:
    return [f"{e.field}: {e.message}" for e in structural.validate(obj, SCHEMA)]


def test_messages_are_upstreams() -> None:
    msgs = _messages({"spec": {"size": 11, "name": "ABCDEFG", "mode": "c", "tags": ["x", "x", "y"],
                               "when": "yesterday", "port": 1.5}})
    assert "spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10" in msgs
    assert "spec.name: Too long: may not be more than 5 bytes" in msgs
    assert "spec.name: Invalid value: \"ABCDEFG\": spec.name in body should match '^[a-z]+$'" in msgs
    assert 'spec.mode: Unsupported value: "c": supported values: "a", "b"' in msgs
    assert 'spec.tags[1]: Duplicate value: "x"' in msgs
    assert "spec.tags: Too many: 3: must have at most 2 items" in msgs
    assert 'spec.when: Invalid value: "yesterday": spec.when in body must be of type date-time: "yesterday"' in msgs
    assert 'spec.port: Invalid value: "number": spec.port in body must be of type integer,string: "number"' in msgs


def test_type_and_required() -> None:
    assert _messages({"spec": {"size": "big"}}) == [
        'spec.size: Invalid value: "string": spec.size in body must be of type integer: "string"']
    assert _messages({"spec": {}}) == ["spec.size: Required value"]
    assert _messages({"spec": {"size": 2, "opt": None, "port": "http"}}) == []


def test_defaults_and_pruning() -> None:
    obj = {"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "a"},
           "spec": {"bogus": 1, "free": {"anything": {"goes": True}}}, "extra": 1}
    dropped = structural.prune(obj, SCHEMA, root=True)
    structural.apply_defaults(obj, SCHEMA)
    assert sorted(dropped) == ["extra", "spec.bogus"]
    assert obj["spec"] == {"size": 3, "free": {"anything": {"goes": True}}}
    assert obj["metadata"] == {"name": "a"}


def test_metadata_name_restrictions_apply() -> None:
    schema = {"type": "object", "properties": {"metadata": {"type": "object", "properties": {
        "name": {"type": "string", "maxLength": 3}}}}}
    errs = structural.validate({"metadata": {"name": "toolong"}}, schema)
    assert [f"{e.field}: {e.message}" for e in errs] == ["metadata.name: Too long: may not be more than 3 bytes"]
