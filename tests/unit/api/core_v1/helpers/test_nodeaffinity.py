"""nodeSelector and node affinity matching (component-helpers nodeaffinity)."""

from __future__ import annotations

import pytest

from pyk8s.api.core_v1.helpers.nodeaffinity import (
    node_selector_matches,
    pod_matches_node,
    pod_matches_node_labels,
    requirement_matches,
    term_matches,
    volume_node_affinity_matches,
)

LABELS = {"zone": "a", "cpus": "8"}


@pytest.mark.parametrize(("req", "value", "expected"), [
    ({"operator": "In", "values": ["a", "b"]}, "a", True),
    ({"operator": "In", "values": ["b"]}, "a", False),
    ({"operator": "In", "values": ["a"]}, None, False),
    ({"operator": "NotIn", "values": ["b"]}, "a", True),
    ({"operator": "NotIn", "values": ["a"]}, None, True),  # absent label is "not in"
    ({"operator": "Exists"}, "", True),
    ({"operator": "Exists"}, None, False),
    ({"operator": "DoesNotExist"}, None, True),
    ({"operator": "Gt", "values": ["4"]}, "8", True),
    ({"operator": "Gt", "values": ["8"]}, "8", False),
    ({"operator": "Lt", "values": ["16"]}, "8", True),
    ({"operator": "Gt", "values": ["x"]}, "8", False),
    ({"operator": "Gt", "values": ["1", "2"]}, "8", False),
    ({"operator": "Gt", "values": ["1"]}, None, False),
    ({"operator": "Bogus", "values": ["a"]}, "a", False),
])
def test_requirement(req: dict, value: str | None, expected: bool) -> None:
    assert requirement_matches(req, value) is expected


def test_terms_are_ored_requirements_anded_empty_term_matches_nothing() -> None:
    selector = {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]},
        {"matchExpressions": [{"key": "cpus", "operator": "Gt", "values": ["4"]},
                              {"key": "gpu", "operator": "DoesNotExist"}]}]}
    assert node_selector_matches(selector, LABELS, "n1")
    selector["nodeSelectorTerms"][1]["matchExpressions"][0]["values"] = ["16"]
    assert not node_selector_matches(selector, LABELS, "n1")
    assert not term_matches({}, LABELS, "n1")
    assert not node_selector_matches({"nodeSelectorTerms": []}, LABELS, "n1")
    assert node_selector_matches(None, LABELS, "n1")


def test_match_fields_know_only_the_node_name() -> None:
    pinned = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}
    assert term_matches(pinned, {}, "n1") and not term_matches(pinned, {}, "n2")
    other = {"matchFields": [{"key": "metadata.uid", "operator": "NotIn", "values": ["x"]}]}
    assert not term_matches(other, {}, "n1")


def test_pod_needs_node_selector_and_required_affinity() -> None:
    spec = {"nodeSelector": {"zone": "a"}, "affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "cpus", "operator": "In", "values": ["8"]}]}]}}}}
    assert pod_matches_node_labels(spec, LABELS, "n1")
    assert not pod_matches_node_labels(spec, {"zone": "b", "cpus": "8"}, "n1")
    assert not pod_matches_node_labels(spec, {"zone": "a"}, "n1")
    node = {"metadata": {"name": "n1", "labels": LABELS}}
    assert pod_matches_node(spec, node) and pod_matches_node({}, node)


def test_volume_node_affinity() -> None:
    pv = {"spec": {"nodeAffinity": {"required": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]}}}}
    assert volume_node_affinity_matches(pv, {"metadata": {"name": "n1"}})
    assert not volume_node_affinity_matches(pv, {"metadata": {"name": "n2"}})
    assert not volume_node_affinity_matches(pv, None)
    assert volume_node_affinity_matches({"spec": {}}, None)
