"""coordination.k8s.io/v1: Lease, the heartbeat and lock object (node
heartbeats in kube-node-lease, leader election for controllers)."""

from __future__ import annotations

from typing import Any

from pyk8s.api import meta_v1
from pyk8s.api.kinds import define_kind, register
from pyk8s.machinery.schema import INT32, MICROTIME, STRING, Field, Ref, define
from pyk8s.machinery.scheme import Strategy
from pyk8s.machinery.validation import FieldError, forbidden, invalid, not_supported

Obj = dict[str, Any]
P = "io.k8s.api.coordination.v1"
STRATEGIES = ["OldestEmulationVersion"]

define(f"{P}.LeaseSpec", "Who holds the lease and until when.", [
    Field("holderIdentity", STRING, "Current holder.", proto=1),
    Field("leaseDurationSeconds", INT32, "How long the holder may go without renewing.", proto=2),
    Field("acquireTime", MICROTIME, "When the current holder took the lease.", proto=3),
    Field("renewTime", MICROTIME, "When the holder last renewed.", proto=4),
    Field("leaseTransitions", INT32, "How many times the holder changed.", proto=5),
    Field("strategy", STRING, "Coordinated leader election strategy.", proto=6),
    Field("preferredHolder", STRING, "Holder the election would rather have.", proto=7),
])
define_kind(P, "Lease", ("coordination.k8s.io", "v1"), "A time-limited claim, for heartbeats and leader election.", [
    Field("spec", Ref(f"{P}.LeaseSpec"), "The lease.", proto=2),
])


def validate_lease_spec(spec: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    duration = spec.get("leaseDurationSeconds")
    if isinstance(duration, int) and duration <= 0:
        errs.append(invalid(path + ".leaseDurationSeconds", duration, "must be greater than 0"))
    transitions = spec.get("leaseTransitions")
    if isinstance(transitions, int) and transitions < 0:
        errs.append(invalid(path + ".leaseTransitions", transitions, "must be greater than or equal to 0"))
    strategy = spec.get("strategy")
    if strategy and strategy not in STRATEGIES:
        errs.append(not_supported(path + ".strategy", strategy, STRATEGIES))
    if spec.get("preferredHolder") and not strategy:
        errs.append(forbidden(path + ".preferredHolder", "may only be specified if `strategy` is defined"))
    return errs


class LeaseStrategy(Strategy):
    allow_create_on_update = True
    has_status = False
    tracks_generation = False

    def validate(self, obj: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta(obj, namespaced=True)
        return errs + validate_lease_spec(obj.get("spec") or {}, "spec")

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old)
        return errs + validate_lease_spec(new.get("spec") or {}, "spec")


register(group="coordination.k8s.io", version="v1", kind="Lease", plural="leases", namespaced=True,
         strategy=LeaseStrategy(), schema=f"{P}.Lease")
