"""The CRD controller inside the API server: names, establishing, serving, cleanup.

It watches CustomResourceDefinitions through the registry's own store (no
client, as upstream's apiextensions controllers run in the server process) and:

* checks the names against the other CRDs of the group: ``NamesAccepted`` True
  (``NoConflicts``) or False (``<plural> is already in use``), and copies the
  accepted names into ``status.acceptedNames``;
* serves an accepted CRD's versions (``serving.serve``) and then sets
  ``Established`` True (``InitialNamesAccepted``);
* on deletion (the CRD store adds the ``customresourcecleanup`` finalizer and
  sets ``deletionTimestamp``): marks ``Terminating`` True
  (``InstanceDeletionInProgress``), refuses new objects, deletes every custom
  object, then removes the finalizer (the CRD goes) and stops serving.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pyk8s.apiserver.apiextensions import conversion, serving
from pyk8s.apiserver.apiextensions.types import CRD_RESOURCE, FINALIZER
from pyk8s.apiserver.registry import Registry
from pyk8s.apiserver.registry.objectmeta import now_rfc3339
from pyk8s.apiserver.registry.rest import DeleteOptions, ListOptions, WatchOptions
from pyk8s.machinery.errors import StatusError
from pyk8s.machinery.schema import REGISTRY, SchemaRegistry
from pyk8s.machinery.scheme import SCHEME, Scheme

log = logging.getLogger("pyk8s.apiserver.apiextensions")
Obj = dict[str, Any]


def set_condition(status: Obj, ctype: str, value: str, reason: str, message: str) -> None:
    conditions = status.setdefault("conditions", [])
    for cond in conditions:
        if cond.get("type") == ctype:
            if cond.get("status") != value:
                cond["lastTransitionTime"] = now_rfc3339()
            cond.update(status=value, reason=reason, message=message)
            return
    conditions.append({"type": ctype, "status": value, "lastTransitionTime": now_rfc3339(), "reason": reason,
                       "message": message})


def condition(crd: Obj, ctype: str) -> str:
    for cond in (crd.get("status") or {}).get("conditions") or []:
        if cond.get("type") == ctype:
            return str(cond.get("status") or "")
    return ""


class CRDController:
    def __init__(self, registry: Registry, scheme: Scheme = SCHEME, schemas: SchemaRegistry = REGISTRY) -> None:
        self.registry = registry
        self.scheme = scheme
        self.schemas = schemas
        self.store = registry.storage_for(CRD_RESOURCE)
        self.served: dict[str, serving.Served] = {}
        self.known: dict[str, Obj] = {}
        self._cleanups: dict[str, asyncio.Task[None]] = {}

    async def run(self) -> None:
        try:
            while True:
                try:
                    async for ev in self.store.watch("", WatchOptions()):
                        await self.handle(ev.type, ev.object)
                except asyncio.CancelledError:
                    raise
                except Exception:  # noqa: BLE001 - the loop must survive and re-list
                    log.exception("CRD watch failed; restarting")
                await asyncio.sleep(0.5)
        finally:
            for task in self._cleanups.values():
                task.cancel()
            for record in list(self.served.values()):
                await serving.unserve(self.registry, self.scheme, self.schemas, record)
            self.served.clear()
            await conversion.CLIENT.close()

    async def handle(self, event: str, crd: Obj) -> None:
        name = crd["metadata"]["name"]
        if event == "DELETED":
            self.known.pop(name, None)
            record = self.served.pop(name, None)
            if record is not None:
                await serving.unserve(self.registry, self.scheme, self.schemas, record)
            return
        if event not in ("ADDED", "MODIFIED"):
            return
        self.known[name] = crd
        if crd["metadata"].get("deletionTimestamp"):
            if FINALIZER in (crd["metadata"].get("finalizers") or []) and name not in self._cleanups:
                record = self.served.get(name)
                if record is not None:
                    record.state.terminating = True
                task = asyncio.create_task(self._cleanup(crd))
                self._cleanups[name] = task
                task.add_done_callback(self._forget_cleanup(name))
            return
        conflict = self._name_conflict(crd)
        fingerprint = repr((crd.get("spec"), (crd.get("status") or {}).get("acceptedNames")))
        if conflict is None:
            record = self.served.get(name)
            if record is None or record.fingerprint != fingerprint:
                accepted_crd = dict(crd, status=dict(crd.get("status") or {}, acceptedNames=self._names(crd)))
                record = await serving.serve(self.registry, self.scheme, self.schemas, accepted_crd, record)
                record.fingerprint = fingerprint
                self.served[name] = record
        await self._write_status(crd, conflict)

    def _forget_cleanup(self, name: str) -> Any:
        def done(_task: asyncio.Task[None]) -> None:
            self._cleanups.pop(name, None)

        return done

    @staticmethod
    def _names(crd: Obj) -> Obj:
        return dict(crd["spec"]["names"])

    def _name_conflict(self, crd: Obj) -> tuple[str, str] | None:
        """(reason, message) of the first name another CRD of the group holds, as upstream words it."""
        spec = crd["spec"]
        names = spec["names"]
        mine = crd["metadata"]["name"]
        for other_name, other in self.known.items():
            if other_name == mine or other["spec"].get("group") != spec.get("group"):
                continue
            accepted = (other.get("status") or {}).get("acceptedNames") or {}
            if not accepted:
                continue
            taken = {accepted.get("plural"), accepted.get("singular"), *(accepted.get("shortNames") or ())}
            if names.get("plural") in taken:
                return "PluralConflict", f'"{names["plural"]}" is already in use'
            if names.get("singular") in taken:
                return "SingularConflict", f'"{names["singular"]}" is already in use'
            for short in names.get("shortNames") or ():
                if short in taken:
                    return "ShortNamesConflict", f'"{short}" is already in use'
            if names.get("kind") in (accepted.get("kind"), accepted.get("listKind")):
                return "KindConflict", f'"{names["kind"]}" is already in use'
        return None

    async def _write_status(self, crd: Obj, conflict: tuple[str, str] | None) -> None:
        def mutate(current: Obj) -> Obj | None:
            status = current.setdefault("status", {})
            before = repr(status)
            if conflict is None:
                status["acceptedNames"] = self._names(current)
                set_condition(status, "NamesAccepted", "True", "NoConflicts", "no conflicts found")
                set_condition(status, "Established", "True", "InitialNamesAccepted",
                              "the initial names have been accepted")
            else:
                set_condition(status, "NamesAccepted", "False", *conflict)
                if condition(current, "Established") != "True":
                    set_condition(status, "Established", "False", "NotAccepted", "not all names are accepted")
            status.setdefault("acceptedNames", {"plural": "", "kind": ""} if conflict else self._names(current))
            return current if repr(status) != before else None

        try:
            await self.store.raw_update("", crd["metadata"]["name"], mutate)
        except StatusError as exc:
            if exc.code != 404:
                raise

    async def _cleanup(self, crd: Obj) -> None:
        name = crd["metadata"]["name"]
        try:
            await self.store.raw_update("", name, self._mark_terminating)
            record = self.served.get(name)
            if record is not None and record.resources:
                store = self.registry.storage_for(record.resources[0])
                for _ in range(100):
                    listed = await store.list("", ListOptions())
                    if not listed["items"]:
                        break
                    for obj in listed["items"]:
                        meta = obj["metadata"]
                        try:
                            await store.delete(meta.get("namespace", ""), meta["name"], DeleteOptions())
                        except StatusError as exc:
                            if exc.code != 404:
                                raise
                    await asyncio.sleep(0.2)  # objects held by finalizers: their controllers release them
            left = await self.store.raw_update("", name, _drop_finalizer)
            if not left["metadata"].get("finalizers"):
                await self.store.delete("", name, DeleteOptions())
        except StatusError as exc:
            if exc.code != 404:
                log.warning("cleaning up custom resources of %s failed: %s", name, exc.message)

    @staticmethod
    def _mark_terminating(current: Obj) -> Obj:
        status = current.setdefault("status", {})
        set_condition(status, "Terminating", "True", "InstanceDeletionInProgress",
                      "CustomResource deletion is in progress")
        return current


def _drop_finalizer(current: Obj) -> Obj:
    meta = current["metadata"]
    meta["finalizers"] = [f for f in meta.get("finalizers") or [] if f != FINALIZER]
    if not meta["finalizers"]:
        meta.pop("finalizers")
    return current
