"""ControllerExpectations bookkeeping and expiry."""

from __future__ import annotations

from pyk8s.client.tools.expectations import ControllerExpectations
from pyk8s.testing.fake_clock import FakeClock


def test_creations_and_deletions(clock: FakeClock) -> None:
    exp = ControllerExpectations(clock=clock)
    assert exp.satisfied("ns/rs")  # nothing recorded
    exp.expect_creations("ns/rs", 2)
    assert not exp.satisfied("ns/rs")
    exp.creation_observed("ns/rs")
    assert not exp.satisfied("ns/rs") and exp.pending("ns/rs") == (1, 0)
    exp.creation_observed("ns/rs")
    assert exp.satisfied("ns/rs")
    exp.expect_deletions("ns/rs", 1)
    exp.raise_expectations("ns/rs", delete=1)
    exp.deletion_observed("ns/rs")
    assert not exp.satisfied("ns/rs")
    exp.lower_expectations("ns/rs", delete=1)
    assert exp.satisfied("ns/rs")
    exp.delete("ns/rs")
    assert exp.pending("ns/rs") is None


def test_expiry(clock: FakeClock) -> None:
    exp = ControllerExpectations(clock=clock)
    exp.expect_creations("k", 5)
    clock.step(299)
    assert not exp.satisfied("k")
    clock.step(2)
    assert exp.satisfied("k")
