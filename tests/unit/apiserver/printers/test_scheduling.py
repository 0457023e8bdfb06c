"""PriorityClass columns and cells, as kubectl prints them."""

from datetime import UTC, datetime

import pyk8s.api  # noqa: F401 - fills SCHEME
from pyk8s.apiserver.printers import to_table
from pyk8s.machinery.scheme import SCHEME

NOW = datetime(2026, 1, 10, 12, 0, 0, tzinfo=UTC)


def test_priorityclass_table() -> None:
    rt = SCHEME.get("scheduling.k8s.io", "v1", "priorityclasses")
    items = [
        {"metadata": {"name": "high", "creationTimestamp": "2026-01-10T11:00:00Z"}, "value": 1000,
         "globalDefault": True, "preemptionPolicy": "Never"},
        {"metadata": {"name": "bare", "creationTimestamp": "2026-01-10T11:59:30Z"}},
    ]
    table = to_table(rt, items, now=NOW)
    cols = [(c["name"], c["type"], c["priority"]) for c in table["columnDefinitions"]]
    assert cols == [("Name", "string", 0), ("Value", "integer", 0), ("Global-Default", "boolean", 0),
                    ("Age", "string", 0), ("PreemptionPolicy", "string", 0)]
    assert [r["cells"] for r in table["rows"]] == [["high", 1000, True, "60m", "Never"],
                                                   ["bare", 0, False, "30s", ""]]
