"""Objects written in the shape Go's encoder gives them (issue 12 §4)."""

from __future__ import annotations

import pytest

import pyk8s.api  # noqa: F401  (fills the schemas)
from pyk8s.machinery.goshape import go_time, normalize


@pytest.mark.parametrize(("value", "micro", "want"), [
    ("2024-05-01T10:00:00Z", False, "2024-05-01T10:00:00Z"),
    ("2024-05-01T10:00:00.123456+00:00", False, "2024-05-01T10:00:00Z"),  # a Python client's isoformat()
    ("2024-05-01T12:00:00+02:00", False, "2024-05-01T10:00:00Z"),
    ("2024-05-01T10:00:00.123456789Z", False, "2024-05-01T10:00:00Z"),
    ("2024-05-01T10:00:00.5Z", True, "2024-05-01T10:00:00.500000Z"),
    ("2024-05-01T10:00:00Z", True, "2024-05-01T10:00:00.000000Z"),
    ("2024-05-01", False, "2024-05-01"),  # not RFC 3339: left for validation
    ("yesterday", False, "yesterday"),
    (None, False, None),
])
def test_go_time(value, micro, want) -> None:
    assert go_time(value, micro) == want


def test_normalize_templates_and_times() -> None:
    job = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c", "creationTimestamp": "2024-05-01T10:00:00Z"},
           "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}},
           "status": {"lastScheduleTime": "2024-05-01T10:00:00.25+00:00"}}
    normalize(job, "io.k8s.api.batch.v1.CronJob")
    assert job["metadata"] == {"name": "c", "creationTimestamp": "2024-05-01T10:00:00Z"}  # the object's own: kept
    assert job["spec"]["jobTemplate"]["metadata"] == {"creationTimestamp": None}
    assert job["spec"]["jobTemplate"]["spec"]["template"]["metadata"] == {"creationTimestamp": None}
    assert job["status"]["lastScheduleTime"] == "2024-05-01T10:00:00Z"
