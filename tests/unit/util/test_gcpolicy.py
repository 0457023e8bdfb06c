"""The daemon's collector policy: thresholds from the environment or the defaults, and start-up frozen."""

import gc

from pyk8s.util import gcpolicy


def test_thresholds_default_and_override() -> None:
    assert gcpolicy.thresholds(None) == (gcpolicy.GEN0, gcpolicy.GEN1, gcpolicy.GEN2)
    assert gcpolicy.thresholds("") == (gcpolicy.GEN0, gcpolicy.GEN1, gcpolicy.GEN2)
    assert gcpolicy.thresholds("700,10,10") == (700, 10, 10)
    for bad in ("1,2", "a,b,c", "-1,2,3", "1,2,3,4"):
        assert gcpolicy.thresholds(bad) == (gcpolicy.GEN0, gcpolicy.GEN1, gcpolicy.GEN2)


def test_settle_freezes_and_sets_thresholds(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    before = gc.get_threshold()
    monkeypatch.setenv(gcpolicy.ENV, "5000,7,9")
    try:
        gcpolicy.settle_after_startup()
        assert gc.get_threshold() == (5000, 7, 9)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
