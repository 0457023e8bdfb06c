"""Toleration matching (upstream ``Toleration.ToleratesTaint``), shared by scheduler, controllers and kubelet."""

from __future__ import annotations

import pytest

from pyk8s.api.core_v1.helpers.tolerations import find_untolerated, tolerated, tolerates

TAINT = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}


@pytest.mark.parametrize(("toleration", "expected"), [
    ({"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}, True),
    ({"key": "dedicated", "value": "gpu"}, True),  # operator defaults to Equal, empty effect matches all
    ({"key": "dedicated", "operator": "Equal", "value": "cpu"}, False),
    ({"key": "dedicated", "operator": "Exists"}, True),
    ({"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}, False),
    ({"key": "other", "operator": "Exists"}, False),
    ({"operator": "Exists"}, True),  # empty key + Exists: everything
    ({"operator": "Exists", "effect": "NoSchedule"}, True),
    ({"key": "dedicated", "operator": "Gt", "value": "gpu"}, False),  # no other operator in 1.32
])
def test_tolerates(toleration: dict, expected: bool) -> None:
    assert tolerates(toleration, TAINT) is expected


def test_empty_key_with_equal_compares_values_like_upstream() -> None:
    # Validation refuses this toleration, but ToleratesTaint still answers for it: an empty key
    # matches every key and Equal compares values.  The node lifecycle controller's old copy said
    # False for any empty key that was not Exists; the scheduler's and DaemonSet's said True.
    assert tolerates({"operator": "Equal"}, {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"})
    assert not tolerates({"operator": "Equal", "value": "x"}, {"key": "k", "effect": "NoExecute"})
    assert tolerates({"value": "gpu"}, TAINT)


def test_absent_value_equals_empty_value() -> None:
    assert tolerates({"key": "k", "operator": "Equal", "value": ""}, {"key": "k", "effect": "NoSchedule"})


def test_find_untolerated_filters_by_effect() -> None:
    taints = [{"key": "a", "effect": "PreferNoSchedule"}, {"key": "b", "effect": "NoExecute"}]
    assert find_untolerated(taints, [], ("NoSchedule", "NoExecute")) == taints[1]
    assert find_untolerated(taints, [{"key": "b", "operator": "Exists"}], ("NoSchedule", "NoExecute")) is None
    assert tolerated([{"key": "a", "operator": "Exists"}], taints[0])
    assert not tolerated([], taints[0])
