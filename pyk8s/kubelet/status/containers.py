"""Container statuses in API form (``v1.ContainerStatus``).

The kubelet knows a container as the runtime reports it; these builders put
that into the shape the API carries, so every kubelet words it the same way:

* ``running(started_at)``, ``waiting(reason, message)``,
  ``terminated(exit_code, ...)`` build a ``state`` (or ``lastState``);
  a terminated state's reason defaults as containerd's: Completed for exit
  0, Error otherwise;
* ``container_status(...)`` assembles one status; ``lastState`` is ``{}``
  when the container never terminated before.

Times are API timestamp strings; nothing here reads a clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Obj = dict[str, Any]


def running(started_at: str) -> Obj:
    return {"running": {"startedAt": started_at}}


def waiting(reason: str, message: str = "") -> Obj:
    inner: Obj = {"reason": reason}
    if message:
        inner["message"] = message
    return {"waiting": inner}


def terminated(exit_code: int, *, started_at: str, finished_at: str, container_id: str = "", reason: str = "",
               message: str = "") -> Obj:
    inner: Obj = {"exitCode": exit_code, "reason": reason or ("Completed" if exit_code == 0 else "Error"),
                  "startedAt": started_at, "finishedAt": finished_at}
    if message:
        inner["message"] = message
    if container_id:
        inner["containerID"] = container_id
    return {"terminated": inner}


def container_status(name: str, *, image: str, image_id: str, container_id: str, state: Obj,
                     last_state: Obj | None = None, ready: bool = False, started: bool | None = None,
                     restart_count: int = 0) -> Obj:
    """One ``v1.ContainerStatus``; ``started`` defaults to "the state is running"."""
    return {"name": name, "image": image, "imageID": image_id, "containerID": container_id,
            "ready": ready, "started": ("running" in state) if started is None else started,
            "restartCount": restart_count, "lastState": dict(last_state or {}), "state": state}


def state_of(status: Mapping[str, Any] | None) -> str:
    """Which state a status is in: running, waiting, terminated, or "" (no state)."""
    state = (status or {}).get("state") or {}
    for kind in ("running", "terminated", "waiting"):
        if state.get(kind) is not None:
            return kind
    return ""


def last_terminated(status: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    last: Mapping[str, Any] | None = ((status or {}).get("lastState") or {}).get("terminated")
    return last
