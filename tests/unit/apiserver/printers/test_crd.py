"""Custom resource printers from additionalPrinterColumns."""

from datetime import UTC, datetime

from pyk8s.apiserver.printers import crd_printer, register_printer, to_table, unregister_printer
from pyk8s.apiserver.printers.crd import evaluate
from pyk8s.machinery.scheme import ResourceType

NOW = datetime(2026, 1, 10, 12, 0, 0, tzinfo=UTC)
RT = ResourceType("example.com", "v1", "Widget", "widgets", "widget", True)
OBJ = {
    "metadata": {"name": "w1", "creationTimestamp": "2026-01-10T11:00:00Z"},
    "spec": {"size": 3, "color": "red", "tags": ["a", "b"], "ratio": 0.5},
    "status": {"conditions": [{"type": "Synced", "status": "False"}, {"type": "Ready", "status": "True"}]},
}


def test_evaluate_simple_paths() -> None:
    assert evaluate(".spec.size", OBJ) == [3]
    assert evaluate("{.spec.tags[1]}", OBJ) == ["b"]
    assert evaluate(".spec.tags[*]", OBJ) == ["a", "b"]
    assert evaluate('.status.conditions[?(@.type=="Ready")].status', OBJ) == ["True"]
    assert evaluate(".spec.missing", OBJ) == []


def test_crd_columns_and_cells() -> None:
    columns = [
        {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
        {"name": "Color", "type": "string", "jsonPath": ".spec.color", "priority": 1},
        {"name": "Ready", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
        {"name": "Ratio", "type": "number", "jsonPath": ".spec.ratio"},
        {"name": "Tags", "type": "string", "jsonPath": ".spec.tags"},
        {"name": "Missing", "type": "string", "jsonPath": ".spec.nope"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]
    register_printer("example.com", "Widget", crd_printer(columns))
    try:
        table = to_table(RT, [OBJ], now=NOW)
    finally:
        unregister_printer("example.com", "Widget")
    assert [c["name"] for c in table["columnDefinitions"]] == [
        "Name",
        "Size",
        "Color",
        "Ready",
        "Ratio",
        "Tags",
        "Missing",
        "Age",
    ]
    assert table["columnDefinitions"][2]["priority"] == 1
    assert table["rows"][0]["cells"] == ["w1", 3, "red", "True", 0.5, '["a","b"]', None, "60m"]


def test_crd_without_columns_prints_name_and_age() -> None:
    register_printer("example.com", "Widget", crd_printer([]))
    try:
        table = to_table(RT, [OBJ], now=NOW)
    finally:
        unregister_printer("example.com", "Widget")
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Age"]
    assert table["rows"][0]["cells"] == ["w1", "60m"]
