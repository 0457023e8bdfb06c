from __future__ import annotations

from pyk8s.client.tools.store import DeletedFinalStateUnknown
from pyk8s.proxy.changetracker import ChangeTracker
from pyk8s.proxy.interface import ServicePortName
from tests.unit.proxy.fixtures import NODE, endpoint, service, slice_

WEB = ServicePortName("default", "web", "http", "TCP")
API = ServicePortName("default", "api", "http", "TCP")


def test_changes_are_folded_in_per_service_and_reported() -> None:
    calls = []
    t = ChangeTracker(NODE, on_change=lambda: calls.append(1))
    t.service_updated(service("web", "10.96.0.10"))
    t.service_updated(service("api", "10.96.0.11"))
    t.slice_updated(slice_("web", endpoint("10.244.0.5")))
    assert calls and t.pending_since is not None
    services, changed = t.snapshot()
    assert changed == {WEB, API}
    assert [e.ip for e in services[WEB].endpoints] == ["10.244.0.5"]
    assert t.pending_since is None and not t.has_changes()

    t.slice_updated(slice_("web", endpoint("10.244.0.5"), endpoint("10.244.0.6")))
    services, changed = t.snapshot()
    assert changed == {WEB}  # only the Service whose slice moved
    assert len(services[WEB].endpoints) == 2


def test_an_update_that_changes_nothing_reports_nothing() -> None:
    t = ChangeTracker(NODE)
    t.service_updated(service("web", "10.96.0.10"))
    t.snapshot()
    t.service_updated(service("web", "10.96.0.10"), service("web", "10.96.0.10"))
    assert t.snapshot()[1] == set()


def test_deletes_including_tombstones() -> None:
    t = ChangeTracker(NODE)
    t.service_updated(service("web", "10.96.0.10"))
    sl = slice_("web", endpoint("10.244.0.5"))
    t.slice_updated(sl)
    t.snapshot()
    t.slice_deleted(DeletedFinalStateUnknown("default/web-abc", sl))
    services, changed = t.snapshot()
    assert changed == {WEB} and services[WEB].endpoints == ()
    t.service_deleted(service("web", "10.96.0.10"))
    services, changed = t.snapshot()
    assert changed == {WEB} and WEB not in services


def test_slices_without_service_label_are_ignored_and_full_snapshot_rebuilds() -> None:
    t = ChangeTracker(NODE)
    unlabelled = slice_("web", endpoint("10.244.0.5"))
    del unlabelled["metadata"]["labels"]
    t.slice_updated(unlabelled)
    assert not t.has_changes()
    t.service_updated(service("web", "10.96.0.10"))
    t.snapshot()
    services, changed = t.snapshot(full=True)
    assert WEB in services and changed == set()
