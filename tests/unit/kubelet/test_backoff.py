"""CrashLoopBackOff timing: 10 s doubling to 5 min, forgiven after 10 min, worded as the kubelet."""

from __future__ import annotations

from pyk8s.kubelet.backoff import Backoff, container_key, crashloop_message, go_duration


def test_delay_doubles_to_five_minutes() -> None:
    b = Backoff()
    delays = []
    at = 0.0
    for _ in range(8):
        delays.append(b.next("k", at))
        at += delays[-1] + 1  # restarted after the delay, crashed a second later
    assert delays == [10, 20, 40, 80, 160, 300, 300, 300]
    assert b.get("k") == 300 and b.get("other") == 0


def test_reset_after_ten_minutes_without_failure() -> None:
    b = Backoff()
    b.next("k", 0)
    b.next("k", 30)
    assert b.next("k", 30 + 600) == 40  # exactly 10 min later: not yet forgiven
    assert b.next("k", 630 + 600.5) == 10  # more than 10 min: starts over


def test_forgiveness_counts_from_the_restart() -> None:
    # As the kubelet: next() is called when the container restarts; 10 min of running after that
    # restart (not after the exit before it) resets the delay.
    b = Backoff()
    b.next("k", 0, now=0)
    b.next("k", 100, now=110)  # exited at 100, restarted after the 10 s back-off: 20 s armed
    assert b.in_backoff_since("k", 700, 701)  # ran 590 s since the restart: still backing off
    assert not b.in_backoff_since("k", 711, 712)  # ran 601 s: forgiven, restart at once
    assert b.next("k", 711, now=712) == 10


def test_first_exit_restarts_at_once_then_the_armed_delay_applies() -> None:
    b = Backoff()
    assert not b.in_backoff_since("k", 5, 5)  # no entry: restart now
    assert b.next("k", 5) == 10
    assert b.in_backoff_since("k", 10, 19.9) and not b.in_backoff_since("k", 10, 20)


def test_in_backoff_since() -> None:
    b = Backoff()
    assert not b.in_backoff_since("k", 100, 101)
    b.next("k", 100)
    assert b.in_backoff_since("k", 100, 109.9)
    assert not b.in_backoff_since("k", 100, 110)
    assert not b.in_backoff_since("k", 100 + 601, 100 + 602)  # the entry is stale by then


def test_forget_and_gc() -> None:
    b = Backoff()
    b.next(container_key("u1", "app"), 0)
    b.next(container_key("u2", "app"), 500)
    b.gc(650)
    assert len(b) == 1 and b.get("u2/app") == 10
    b.forget("u2/app")
    assert len(b) == 0


def test_message_as_the_kubelet_words_it() -> None:
    pod = {"metadata": {"name": "web", "namespace": "default", "uid": "123"}}
    assert crashloop_message(20, "app", pod) == "back-off 20s restarting failed container=app pod=web_default(123)"
    assert [go_duration(s) for s in (10, 80, 300, 3600)] == ["10s", "1m20s", "5m0s", "1h0m0s"]
