import datetime

from pyk8s.machinery.jsoncopy import json_copy


def test_copy_is_equal_and_independent():
    shared = {"x": [1, 2]}
    doc = {"a": shared, "b": shared, "c": [{"d": None, "e": 1.5, "f": True}], "g": "s"}
    out = json_copy(doc)
    assert out == doc
    out["a"]["x"].append(3)
    out["c"][0]["d"] = 1
    assert doc == {"a": {"x": [1, 2]}, "b": {"x": [1, 2]}, "c": [{"d": None, "e": 1.5, "f": True}], "g": "s"}
    assert out["b"]["x"] == [1, 2]  # an aliased container becomes two copies


def test_other_types_are_deep_copied():
    when = datetime.datetime(2026, 1, 1)
    doc = {"t": when, "p": (1, [2])}
    out = json_copy(doc)
    assert out == doc
    assert out["p"][1] is not doc["p"][1]
