"""The status manager: the only writer of ``pods/status`` for a kubelet.

Contract (upstream's ``status_manager.go``):

* ``merge(pod, generated, now)`` is the status to store: conditions owned
  by others (readiness gates, DisruptionTarget ...) are kept from the pod
  as it is, first; the kubelet's follow from ``generated``.  A condition's
  ``lastTransitionTime`` stays as it was while its status does not change,
  else becomes ``now``.  A pod that reached Succeeded or Failed never leaves
  that phase, nor the reason and message that came with a phase while it stays.
* ``set_status(pod, generated, now)`` writes the merged status with a PUT
  of ``pods/status`` carrying the pod's resourceVersion — only when it
  differs from the pod's current status; it returns the stored pod, or None
  when nothing needed writing.  A conflict (409) is raised for the caller
  to retry with a fresher pod.
* ``own_write(pod)``: ``pod`` is what the manager's last write stored (the
  informer's echo of it, same resourceVersion), nothing newer.  The kubelet
  does not sync a pod again for its own status write: upstream's pod config
  treats a status-only change as a reconcile, not a sync.
* ``confirm_deletion(pod)`` finishes a graceful deletion once the pod's
  containers are gone: DELETE with grace period 0 and a uid precondition
  (a newer pod of the same name is never touched); 404 and 409 mean someone
  else finished it and are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyk8s.api.core_v1.helpers.podready import KUBELET_CONDITIONS
from pyk8s.client.errors import ApiError
from pyk8s.client.rest import PODS, Client

Obj = dict[str, Any]
TERMINAL_PHASES = ("Succeeded", "Failed")


def _stamped(cond: Mapping[str, Any], old: Mapping[str, Any] | None, now: str) -> Obj:
    since = old.get("lastTransitionTime") if old and old.get("status") == cond.get("status") else None
    return {**cond, "lastTransitionTime": since or now}


def merge(pod: Mapping[str, Any], generated: Mapping[str, Any], now: str) -> Obj:
    """The status to store for ``pod`` (see the module docstring)."""
    old = pod.get("status") or {}
    old_conditions = {c.get("type"): c for c in old.get("conditions") or ()}
    conditions = [c for c in old.get("conditions") or () if c.get("type") not in KUBELET_CONDITIONS]
    conditions += [_stamped(c, old_conditions.get(c.get("type")), now)
                   for c in generated.get("conditions") or () if c.get("type") in KUBELET_CONDITIONS]
    merged: Obj = {**generated, "conditions": conditions}
    if old.get("phase") in TERMINAL_PHASES:
        merged["phase"] = old["phase"]
    if merged.get("phase") == old.get("phase"):
        # As upstream's generateAPIPodStatus: the reason and message that came with the phase (Evicted,
        # DeadlineExceeded ...) stay while the phase does.
        for key in ("reason", "message"):
            if not merged.get(key) and old.get(key):
                merged[key] = old[key]
    return merged


class StatusManager:
    def __init__(self, client: Client) -> None:
        self.client = client
        self._written: dict[str, str] = {}  # pod uid -> resourceVersion of the last status write

    async def set_status(self, pod: Mapping[str, Any], generated: Mapping[str, Any], now: str) -> Obj | None:
        status = merge(pod, generated, now)
        if status == (pod.get("status") or {}):
            return None
        written: Obj = await self.client.update_status(PODS, {**pod, "status": status})
        meta = written.get("metadata") or {}
        self._written[str(meta.get("uid", ""))] = str(meta.get("resourceVersion", ""))
        return written

    def own_write(self, pod: Mapping[str, Any]) -> bool:
        meta = pod.get("metadata") or {}
        version = self._written.get(str(meta.get("uid", "")))
        return version is not None and version == meta.get("resourceVersion")

    def forget(self, uid: str) -> None:
        self._written.pop(uid, None)

    async def confirm_deletion(self, pod: Mapping[str, Any]) -> None:
        meta = pod.get("metadata") or {}
        try:
            await self.client.delete(PODS, meta["name"], namespace=meta.get("namespace"), grace_period_seconds=0,
                                     preconditions={"uid": meta.get("uid", "")})
        except ApiError as exc:
            if exc.code not in (404, 409):
                raise
