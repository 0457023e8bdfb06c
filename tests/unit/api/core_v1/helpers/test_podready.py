"""IsPodReady / IsPodAvailable as pkg/api/v1/pod."""

from __future__ import annotations

import datetime

from pyk8s.api.core_v1.helpers.podready import get_condition, is_pod_available, is_pod_ready, ready_since

NOW = datetime.datetime(2026, 1, 1, 0, 1, 0, tzinfo=datetime.UTC)


def pod(status: str | None, since: str = "2026-01-01T00:00:00Z") -> dict:
    conds = [{"type": "PodScheduled", "status": "True"}]
    if status is not None:
        conds.append({"type": "Ready", "status": status, "lastTransitionTime": since})
    return {"status": {"conditions": conds}}


def test_ready_needs_a_true_ready_condition() -> None:
    assert is_pod_ready(pod("True"))
    assert not is_pod_ready(pod("False")) and not is_pod_ready(pod(None)) and not is_pod_ready({})
    assert get_condition(pod("True"), "PodScheduled") == {"type": "PodScheduled", "status": "True"}
    assert get_condition({}, "Ready") is None


def test_available_is_ready_for_strictly_longer_than_min_ready_seconds() -> None:
    assert ready_since(pod("True")) == NOW - datetime.timedelta(seconds=60)
    assert ready_since(pod("False")) is None
    assert is_pod_available(pod("True"), 0, NOW)
    assert is_pod_available(pod("True"), 59, NOW)
    assert not is_pod_available(pod("True"), 60, NOW)  # strictly before now
    assert not is_pod_available(pod("False"), 0, NOW)
    assert not is_pod_available(pod("True", since=""), 5, NOW)
