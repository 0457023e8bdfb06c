"""Validation of a CustomResourceDefinition itself."""

from __future__ import annotations

import copy

from pyk8s.apiserver.apiextensions import crdvalidation

CRD = {
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com", "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
        "versions": [{"name": "v1", "served": True, "storage": True,
                      "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                          "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}}}],
    },
}


def _msgs(crd: dict, old: dict | None = None) -> list[str]:
    return [f"{e.field}: {e.message}" for e in crdvalidation.validate_crd(crd, old)]


def test_valid_crd() -> None:
    assert _msgs(CRD) == []


def test_name_group_scope_and_storage() -> None:
    crd = copy.deepcopy(CRD)
    crd["metadata"]["name"] = "other.example.com"
    crd["spec"]["scope"] = "Global"
    crd["spec"]["versions"][0]["storage"] = False
    msgs = _msgs(crd)
    assert 'metadata.name: Invalid value: "other.example.com": must be spec.names.plural+"."+spec.group' in msgs
    assert 'spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"' in msgs
    assert any(m.endswith("must have exactly one version marked as storage version") for m in msgs)


def test_schema_must_be_structural() -> None:
    crd = copy.deepcopy(CRD)
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["x"] = {}
    assert ("spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[x].type: Required value: "
            "must not be empty for specified object fields") in _msgs(crd)


def test_scope_is_immutable() -> None:
    crd = copy.deepcopy(CRD)
    crd["spec"]["scope"] = "Cluster"
    assert 'spec.scope: Invalid value: "Cluster": field is immutable' in _msgs(crd, CRD)
