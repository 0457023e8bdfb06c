"""Priority: a new pod's ``spec.priorityClassName`` (or the globalDefault class) resolves into
``spec.priority`` and ``spec.preemptionPolicy``; pod updates keep both; at most one globalDefault
PriorityClass.  Pod templates are not resolved, only pods.  Classes are read from the watch cache
(``cachedreads``), as upstream's lister.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from pyk8s.api import scheduling_v1
from pyk8s.apiserver.admission.interface import CREATE, PODS, UPDATE, Attributes, Obj, Plugin
from pyk8s.apiserver.registry import cachedreads
from pyk8s.apiserver.registry.rest import ListOptions

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry
    from pyk8s.apiserver.registry.generic import GenericStore
    from pyk8s.apiserver.watchcache import WatchCache

NAME = "Priority"
PRIORITY_CLASSES = (scheduling_v1.GROUP, "priorityclasses")


def _value(pc: Obj) -> int:
    """A class's value; request bodies are not type-checked on decode, so tolerate junk as 0."""
    value = pc.get("value")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


async def _priority_class(registry: Registry, name: str) -> Obj | None:
    store = registry.store(*PRIORITY_CLASSES)
    return None if store is None else await cachedreads.get(store, "", name)


# Per store: (its watch cache, the revision it held, the globalDefault class then).  Every pod create
# without a priorityClassName asks for the default; the classes are scanned again only once the cache
# has moved (a class written, by this server or another) or been replaced.
_DEFAULT_MEMO: weakref.WeakKeyDictionary[GenericStore, tuple[WatchCache, int, Obj | None]] = \
    weakref.WeakKeyDictionary()


def _lowest_default(classes: list[Obj]) -> Obj | None:
    found: Obj | None = None
    for pc in classes:
        if pc.get("globalDefault") and (found is None or _value(pc) < _value(found)):
            found = pc
    return found


async def default_priority_class(registry: Registry, *, live: bool = False) -> Obj | None:
    """The globalDefault class; if a race let in several, the lowest value wins (as upstream).
    From the watch cache as upstream's lister, or ``live`` from storage (the one-default check)."""
    store = registry.store(*PRIORITY_CLASSES)
    if store is None:
        return None
    if live:
        return _lowest_default((await store.list("", ListOptions()))["items"])
    cache = cachedreads.current(store)
    if cache is not None:
        memo = _DEFAULT_MEMO.get(store)
        if memo is not None and memo[0] is cache and memo[1] == cache.rev:
            return memo[2]
        # Scanned synchronously from the caught-up cache: the answer holds at exactly this revision.
        found = _lowest_default(cache.snapshot(store.prefix)[0])
        _DEFAULT_MEMO[store] = (cache, cache.rev, found)
        return found
    return _lowest_default(await cachedreads.items(store))


class Priority(Plugin):
    name = NAME
    resources = frozenset({PODS, PRIORITY_CLASSES})

    async def admit(self, registry: Registry, attrs: Attributes) -> None:
        if (attrs.group, attrs.plural) != PODS:
            return
        spec = attrs.obj.get("spec")
        if not isinstance(spec, dict):
            spec = attrs.obj["spec"] = {}
        if attrs.operation == UPDATE:
            # Set at creation; an update that leaves them out keeps them (validation forbids changing them).
            old_spec = (attrs.old or {}).get("spec") or {}
            for key in ("priority", "preemptionPolicy"):
                if spec.get(key) is None and old_spec.get(key) is not None:
                    spec[key] = old_spec[key]
            return
        if attrs.operation != CREATE:
            return
        class_name = spec.get("priorityClassName") or ""
        policy: str | None
        if class_name:
            pc = await _priority_class(registry, class_name)
            if pc is None:
                raise attrs.forbidden(f"no PriorityClass with name {class_name} was found")
            value, policy = _value(pc), pc.get("preemptionPolicy")
        else:
            pc = await default_priority_class(registry)
            if pc is not None:
                class_name = pc["metadata"]["name"]
                value, policy = _value(pc), pc.get("preemptionPolicy")
            else:
                value = scheduling_v1.DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS_EXISTS
                policy = scheduling_v1.PREEMPT_LOWER_PRIORITY
        if class_name:
            spec["priorityClassName"] = class_name
        given = spec.get("priority")
        if given is not None and given != value:
            raise attrs.forbidden(f"the integer value of priority ({given}) must not be provided in pod spec; "
                                  f"priority admission controller computed {value} from the given PriorityClass name")
        spec["priority"] = value
        if policy is not None:
            given_policy = spec.get("preemptionPolicy")
            if given_policy is not None and given_policy != policy:
                raise attrs.forbidden(f"the string value of PreemptionPolicy ({given_policy}) must not be provided "
                                      f"in pod spec; priority admission controller computed {policy} from the "
                                      f"given PriorityClass name")
            spec["preemptionPolicy"] = policy

    async def validate(self, registry: Registry, attrs: Attributes) -> None:
        if (attrs.group, attrs.plural) != PRIORITY_CLASSES or not attrs.obj.get("globalDefault"):
            return
        current = await default_priority_class(registry, live=True)
        if current is None:
            return
        name = current["metadata"]["name"]
        if attrs.operation == CREATE or name != (attrs.obj.get("metadata") or {}).get("name"):
            raise attrs.forbidden(f"PriorityClass {name} is already marked as default. Only one default can exist")


def build(options: object) -> Plugin:
    return Priority()
