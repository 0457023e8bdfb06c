"""apiserver_current_inflight_requests' watermark: the most requests in flight at once, per kind, over the
current and the previous second (clock given explicitly)."""

from __future__ import annotations

from pyk8s.apiserver.metrics import MUTATING, READ_ONLY, InflightWatermark


def test_watermark_keeps_the_peak_of_the_last_second() -> None:
    w = InflightWatermark()
    w.started(MUTATING, 100.1)
    w.started(MUTATING, 100.2)
    w.started(READ_ONLY, 100.3)
    w.ended(MUTATING)
    w.ended(MUTATING)
    assert w.watermark(MUTATING, 100.5) == 2  # both were in flight at once this second
    assert w.watermark(READ_ONLY, 100.5) == 1
    assert w.watermark(MUTATING, 101.4) == 2  # the previous second's peak still shows
    assert w.watermark(MUTATING, 102.0) == 0  # then it is gone: nothing in flight since
    assert w.watermark(READ_ONLY, 102.0) == 1  # still in flight


def test_a_long_gap_forgets_old_peaks() -> None:
    w = InflightWatermark()
    w.started(READ_ONLY, 10.0)
    w.ended(READ_ONLY)
    assert w.watermark(READ_ONLY, 50.0) == 0
