"""The scheme: which resources exist, their names and scope, and the per-kind
strategy the generic registry store calls.

This is the one place that knows about kinds; the API server, discovery,
OpenAPI and kubectl-facing tables all read it.  Kinds may be added at run time
(CustomResourceDefinitions will do that), so everything that serves the scheme
reads it on demand rather than caching it at start-up.

A ``Strategy`` carries the per-kind behaviour (Kubernetes' RESTCreateStrategy
and friends): defaulting, validation, what ``status`` means, field selectors.
The base class does the common thing, so a kind overrides only what differs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pyk8s.machinery.validation import FieldError

Obj = dict[str, Any]

DEFAULT_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


class Strategy:
    """Per-kind hooks.  Every method mutates or inspects plain dicts."""

    #: Kinds with a status subresource: the main resource ignores status
    #: changes on update and the status subresource ignores everything else.
    has_status: bool = True
    #: Whether metadata.generation is maintained (bumped on spec changes).
    tracks_generation: bool = True
    #: PUT without a resourceVersion is allowed (unconditional update).
    allow_unconditional_update: bool = True
    #: PUT of a missing object creates it (upstream's AllowCreateOnUpdate).
    allow_create_on_update: bool = False
    #: DELETE answers with the deleted object rather than a Status (upstream's ReturnDeletedObject).
    return_deleted_object: bool = False
    #: Extra field selectors beyond metadata.name / metadata.namespace:
    #: field path -> function returning the value as a string.
    field_selectors: dict[str, Callable[[Obj], str]] = {}

    def default(self, obj: Obj) -> None:
        """Fill in defaults, the way the API server's defaulting does on decode."""

    def prepare_for_create(self, obj: Obj) -> None:
        """Clear or set server-owned fields before create (e.g. reset status)."""
        if self.has_status:
            obj.pop("status", None)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        """Carry over what an update of the main resource may not change."""
        if self.has_status:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)

    def prepare_for_status_update(self, new: Obj, old: Obj) -> None:
        """The status subresource changes only status (and some metadata)."""
        for key in list(new):
            if key not in ("status", "metadata", "kind", "apiVersion"):
                del new[key]
        for key, value in old.items():
            if key not in ("status", "metadata"):
                new[key] = value

    def validate(self, obj: Obj) -> list[FieldError]:
        return []

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return self.validate(new)

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return []

    def spec_changed(self, new: Obj, old: Obj) -> bool:
        """Whether an update should bump metadata.generation."""
        return {k: v for k, v in new.items() if k not in ("metadata", "status")} != {
            k: v for k, v in old.items() if k not in ("metadata", "status")
        }

    def warnings(self, obj: Obj) -> list[str]:
        """Warning headers for a create or update (deprecated fields etc.)."""
        return []


@dataclass
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    strategy: Strategy = field(default_factory=Strategy)
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = DEFAULT_VERBS
    # Subresources served for this resource: "status", "scale", "binding",
    # "log", "exec", "attach", "portforward", "eviction", "token", "proxy".
    subresources: tuple[str, ...] = ()
    # OpenAPI schema name of the kind (e.g. "io.k8s.api.core.v1.Pod").
    schema: str = ""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def qualified(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


class Scheme:
    def __init__(self) -> None:
        # (group, version, plural) -> ResourceType
        self._by_gvr: dict[tuple[str, str, str], ResourceType] = {}
        # group -> ordered preferred-first versions
        self._versions: dict[str, list[str]] = {}
        # Bumped by every change, so lookups derived from the scheme may be remembered until the next.
        self.generation = 0

    def add(self, rt: ResourceType) -> ResourceType:
        self.generation += 1
        self._by_gvr[(rt.group, rt.version, rt.plural)] = rt
        versions = self._versions.setdefault(rt.group, [])
        if rt.version not in versions:
            versions.append(rt.version)
        return rt

    def remove(self, rt: ResourceType) -> None:
        """Stop serving a resource added at run time (a CRD's version); its group goes when empty."""
        self.generation += 1
        if self._by_gvr.get((rt.group, rt.version, rt.plural)) is rt:
            del self._by_gvr[(rt.group, rt.version, rt.plural)]
        versions = self._versions.get(rt.group, [])
        if rt.version in versions and not self.resources(rt.group, rt.version):
            versions.remove(rt.version)
        if not versions:
            self._versions.pop(rt.group, None)

    def set_versions(self, group: str, versions: list[str]) -> None:
        """The preferred-first order of a group's versions (a CRD orders its own, as upstream sorts them)."""
        self.generation += 1
        known = self._versions.get(group, [])
        self._versions[group] = [v for v in versions if v in known] + [v for v in known if v not in versions]

    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_gvr.get((group, version, plural))

    def by_kind(self, group: str, version: str, kind: str) -> ResourceType | None:
        for rt in self._by_gvr.values():
            if (rt.group, rt.version, rt.kind) == (group, version, kind):
                return rt
        return None

    def groups(self) -> list[str]:
        """API groups, core ("") first, then in registration order."""
        return list(self._versions)

    def versions(self, group: str) -> list[str]:
        return list(self._versions.get(group, []))

    def resources(self, group: str, version: str) -> list[ResourceType]:
        return [rt for (g, v, _), rt in self._by_gvr.items() if g == group and v == version]

    def all(self) -> list[ResourceType]:
        return list(self._by_gvr.values())


#: The process-wide scheme that ``pyk8s.api`` fills when it is imported.
SCHEME = Scheme()
