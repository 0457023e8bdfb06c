"""FlowSchema status: the ``Dangling`` condition upstream's APF configuration controller keeps,
computed inside the API server (as upstream computes it there).

A FlowSchema is dangling when the PriorityLevelConfiguration it names does not exist.  Changes to
either kind wake one reconcile over every FlowSchema; a condition is rewritten only when its status
changes (``lastTransitionTime`` then moves), through the store's guarded update.  Nothing here
enforces APF (see ``api/flowcontrol_v1.py``): this only reports, so ``kubectl get flowschemas``
shows MISSINGPL as upstream does.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from typing import TYPE_CHECKING, Any

from pyk8s.apiserver.registry.rest import ListOptions, WatchOptions
from pyk8s.machinery.errors import StatusError

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry
    from pyk8s.apiserver.registry.generic import GenericStore

log = logging.getLogger(__name__)
Obj = dict[str, Any]
GROUP = "flowcontrol.apiserver.k8s.io"
DANGLING = "Dangling"
DEBOUNCE = 0.2


def dangling_condition(fs: Obj, levels: set[str], now: str) -> Obj:
    """The condition ``fs`` should carry (its lastTransitionTime kept when the status stays)."""
    level = str(((fs.get("spec") or {}).get("priorityLevelConfiguration") or {}).get("name") or "")
    missing = level not in levels
    cond: Obj = {"type": DANGLING, "status": "True" if missing else "False",
                 "reason": "NotFound" if missing else "Found",
                 "message": (f"This FlowSchema references the PriorityLevelConfiguration object named \"{level}\" "
                             + ("but there is no such object" if missing else "and it exists"))}
    old = next((c for c in ((fs.get("status") or {}).get("conditions") or []) if c.get("type") == DANGLING), None)
    cond["lastTransitionTime"] = old["lastTransitionTime"] if (old and old.get("status") == cond["status"]
                                                              and old.get("lastTransitionTime")) else now
    return cond


class FlowSchemaStatus:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._dirty = asyncio.Event()

    def _store(self, plural: str) -> GenericStore:
        store = self.registry.store(GROUP, plural)
        if store is None:
            raise RuntimeError(f"no {plural} store")
        return store

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            for plural in ("flowschemas", "prioritylevelconfigurations"):
                tg.create_task(self._follow(plural))
            tg.create_task(self._reconcile_loop())

    async def _follow(self, plural: str) -> None:
        while True:
            try:
                async for _ev in self._store(plural).watch("", WatchOptions()):
                    self._dirty.set()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the loop must survive and re-watch
                log.exception("%s watch failed; restarting", plural)
            await asyncio.sleep(0.5)

    async def _reconcile_loop(self) -> None:
        while True:
            await self._dirty.wait()
            await asyncio.sleep(DEBOUNCE)  # a burst of changes (the bootstrap's) is one pass
            self._dirty.clear()
            try:
                await self.reconcile()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001
                log.exception("FlowSchema status reconcile failed")
                self._dirty.set()

    async def reconcile(self) -> None:
        levels = {pl["metadata"]["name"] for pl in
                  (await self._store("prioritylevelconfigurations").list("", ListOptions()))["items"]}
        schemas = self._store("flowschemas")
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for fs in (await schemas.list("", ListOptions()))["items"]:
            def mutate(current: Obj) -> Obj | None:
                want = dangling_condition(current, levels, now)
                status = current.setdefault("status", {})
                others = [c for c in status.get("conditions") or [] if c.get("type") != DANGLING]
                conditions = [*others, want]
                if conditions == status.get("conditions"):
                    return None
                status["conditions"] = conditions
                return current
            try:
                await schemas.raw_update("", fs["metadata"]["name"], mutate)
            except StatusError as exc:
                if exc.code != 404:
                    raise


async def run_flowschema_status(registry: Registry) -> None:
    try:
        await FlowSchemaStatus(registry).run()
    except asyncio.CancelledError:
        raise
    except Exception:  # noqa: BLE001 - a report, not a reason to stop the server
        log.exception("FlowSchema status loop stopped")
