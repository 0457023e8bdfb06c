"""Two candidates on one Lease, with a fake clock driving time."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

from client_fake_apiserver import FakeApiServer

from pyk8s.client.rest import Client
from pyk8s.client.tools.leaderelection import JITTER, LEASES, LeaderElector
from pyk8s.testing.fake_clock import FakeClock

MICRO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


class Candidate:
    def __init__(self, client: Client, clock: FakeClock, identity: str, **kw: object) -> None:
        self.leading = asyncio.Event()
        self.work_cancelled = False
        self.stopped = 0
        self.elector = LeaderElector(client, namespace="kube-system", name="ctrl", identity=identity,
                                     on_started_leading=self._lead, on_stopped_leading=self._stop,
                                     clock=clock, **kw)  # type: ignore[arg-type]
        self.task: asyncio.Task[None] | None = None

    async def _lead(self) -> None:
        self.leading.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.work_cancelled = True
            raise

    def _stop(self) -> None:
        self.stopped += 1
        self.leading.clear()

    def start(self) -> None:
        self.task = asyncio.create_task(self.elector.run())

    async def cancel(self) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def _quiet(clock: FakeClock, sleepers: int) -> None:
    """Wait (real time) until every live candidate is asleep on the fake clock."""
    for _ in range(500):
        if clock.pending() >= sleepers:
            return
        await asyncio.sleep(0.005)
    raise AssertionError("candidates never went idle")


async def run_for(clock: FakeClock, sleepers: int, seconds: float, stop: Callable[[], bool] = lambda: False) -> float:
    """Advance fake time deadline by deadline (at most ``seconds``); returns the time used."""
    start = clock.monotonic()
    while clock.monotonic() - start < seconds and not stop():
        await _quiet(clock, sleepers)
        step = min(clock.next_deadline() or 0.0, seconds - (clock.monotonic() - start))
        await clock.advance(step)
    await _quiet(clock, sleepers)
    return clock.monotonic() - start


async def test_one_leader_then_takeover_after_expiry(client: Client, fake_server: FakeApiServer,
                                                    clock: FakeClock) -> None:
    a, b = Candidate(client, clock, "a"), Candidate(client, clock, "b")
    a.start()
    await asyncio.wait_for(a.leading.wait(), 5)
    b.start()
    await run_for(clock, 2, 60)
    assert a.elector.is_leader() and not b.elector.is_leader() and not b.leading.is_set()
    assert b.elector.leader == "a"
    lease = await client.get(LEASES, "ctrl", namespace="kube-system")
    spec = lease["spec"]
    assert spec["holderIdentity"] == "a" and spec["leaseDurationSeconds"] == 15 and spec["leaseTransitions"] == 0
    assert MICRO.match(spec["renewTime"]) and MICRO.match(spec["acquireTime"]) and spec["renewTime"] > spec["acquireTime"]

    # a dies without releasing: b must wait for the lease to expire.
    renewed_at = clock.monotonic()
    await a.cancel()
    assert a.stopped == 1 and a.work_cancelled
    waited = await run_for(clock, 1, 60, stop=b.leading.is_set)
    assert b.leading.is_set() and b.elector.is_leader()
    # b times expiry from when it *observed* a's last renewal (as client-go does), and it polls every
    # retry period with up to 2.2x jitter (<= 4.4 s): it may see the renewal up to one poll late and
    # find the lease expired up to one poll after that.
    max_poll = 2.0 * (1 + JITTER)
    assert 13 <= clock.monotonic() - renewed_at and waited <= 15 + 2 * max_poll
    spec = (await client.get(LEASES, "ctrl", namespace="kube-system"))["spec"]
    assert spec["holderIdentity"] == "b" and spec["leaseTransitions"] == 1
    await b.cancel()


async def test_release_on_cancel_hands_over_quickly(client: Client, fake_server: FakeApiServer,
                                                    clock: FakeClock) -> None:
    a = Candidate(client, clock, "a", release_on_cancel=True)
    b = Candidate(client, clock, "b")
    a.start()
    await asyncio.wait_for(a.leading.wait(), 5)
    b.start()
    await run_for(clock, 2, 10)
    await a.cancel()
    assert (await client.get(LEASES, "ctrl", namespace="kube-system"))["spec"]["holderIdentity"] == ""
    waited = await run_for(clock, 1, 30, stop=b.leading.is_set)
    assert b.leading.is_set() and waited <= 2 * 2.2 + 0.01
    spec = (await client.get(LEASES, "ctrl", namespace="kube-system"))["spec"]
    assert spec["holderIdentity"] == "b" and spec["leaseTransitions"] == 1  # a takeover of a released lease counts
    await b.cancel()


async def test_restarted_holder_reacquiring_its_own_lease_is_no_transition(client: Client, fake_server: FakeApiServer,
                                                                           clock: FakeClock) -> None:
    a = Candidate(client, clock, "a")
    a.start()
    await asyncio.wait_for(a.leading.wait(), 5)
    await a.cancel()
    again = Candidate(client, clock, "a")
    again.start()
    await asyncio.wait_for(again.leading.wait(), 5)
    spec = (await client.get(LEASES, "ctrl", namespace="kube-system"))["spec"]
    assert spec["holderIdentity"] == "a" and spec["leaseTransitions"] == 0
    await again.cancel()


async def test_leader_steps_down_when_renewals_fail(client: Client, fake_server: FakeApiServer,
                                                    clock: FakeClock) -> None:
    a = Candidate(client, clock, "a")
    a.start()
    await asyncio.wait_for(a.leading.wait(), 5)
    await run_for(clock, 1, 6)
    fake_server.fail_next = [500] * 1000
    lost_at = clock.monotonic()
    for _ in range(40):
        if a.task is not None and a.task.done():
            break
        await _quiet(clock, 1)
        await clock.advance(clock.next_deadline() or 0)
    assert a.task is not None and a.task.done() and a.task.exception() is None
    assert a.stopped == 1 and a.work_cancelled and not a.elector.is_leader()
    assert 8 <= clock.monotonic() - lost_at <= 12 + 2
    fake_server.fail_next = []


async def test_two_racing_candidates_one_wins(client: Client, fake_server: FakeApiServer, clock: FakeClock) -> None:
    a, b = Candidate(client, clock, "a"), Candidate(client, clock, "b")
    results = await asyncio.gather(a.elector.try_acquire_or_renew(), b.elector.try_acquire_or_renew())
    assert sorted(results) == [False, True]
