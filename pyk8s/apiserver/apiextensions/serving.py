"""Turning an established CRD into served resources, and back.

``serve(registry, scheme, schemas, crd)`` adds one ``ResourceType`` per served
version to the scheme (discovery and routing read it), mirrors each version's
schema for OpenAPI and ``kubectl explain`` (``dsl``), registers the Table
printer from ``additionalPrinterColumns`` and installs a ``ResourceBundle``
(the generic store with the version's strategy, plus ``scale``) in the
registry.  ``unserve`` removes all of it.  Versions are ordered as upstream
orders them (GA before beta before alpha, higher numbers first), the first
being the group's preferred version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pyk8s.apiserver import printers
from pyk8s.apiserver.apiextensions import cel, dsl
from pyk8s.apiserver.apiextensions.conversion import WebhookConverter, WebhookConvertingStore
from pyk8s.apiserver.apiextensions.customresource import (
    CustomResourceStore,
    CustomResourceStrategy,
    CustomScale,
    ServingState,
    VersionInfo,
)
from pyk8s.apiserver.registry import Registry, ResourceBundle
from pyk8s.machinery.schema import SchemaRegistry
from pyk8s.machinery.scheme import ResourceType, Scheme

Obj = dict[str, Any]
_KUBE_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(name: str) -> tuple[int, int, int, str]:
    """Sort key: GA, then beta, then alpha, higher first; other names last, alphabetically."""
    m = _KUBE_VERSION.match(name)
    if m is None:
        return (3, 0, 0, name)
    major, stage, minor = int(m.group(1)), m.group(2), int(m.group(3) or 0)
    return ({None: 0, "beta": 1, "alpha": 2}[stage], -major, -minor, name)


@dataclass(slots=True)
class Served:
    """What one CRD added, to take it away again."""

    resources: list[ResourceType] = field(default_factory=list)
    schema_names: list[str] = field(default_factory=list)
    state: ServingState = field(default_factory=ServingState)
    fingerprint: str = ""


def _storage_version(spec: Obj) -> str:
    for v in spec.get("versions") or []:
        if v.get("storage"):
            return str(v["name"])
    return ""


def build_types(crd: Obj, state: ServingState) -> list[ResourceType]:
    spec = crd["spec"]
    names = (crd.get("status") or {}).get("acceptedNames") or spec["names"]
    group, plural, kind = spec["group"], names["plural"], names["kind"]
    namespaced = spec.get("scope") == "Namespaced"
    storage = _storage_version(spec)
    out: list[ResourceType] = []
    for v in sorted(spec.get("versions") or [], key=lambda v: version_priority(v["name"])):
        if not v.get("served"):
            continue
        schema = ((v.get("schema") or {}).get("openAPIV3Schema")) or {"type": "object",
                                                                     "x-kubernetes-preserve-unknown-fields": True}
        rules, _ = cel.compile_schema(schema)
        subs = v.get("subresources") or {}
        info = VersionInfo(group=group, version=v["name"], kind=kind, plural=plural, storage_version=storage,
                           schema=schema, rules=rules, status="status" in subs, scale=subs.get("scale"),
                           selectable=[s["jsonPath"] for s in v.get("selectableFields") or []],
                           conversion=(spec.get("conversion") or {}).get("strategy", "None"),
                           deprecated=bool(v.get("deprecated")),
                           deprecation_warning=str(v.get("deprecationWarning") or ""),
                           successor=_successor(spec, v["name"]), state=state)
        sub_names = tuple(s for s in ("status", "scale") if s in subs)
        rt = ResourceType(group, v["name"], kind, plural, names.get("singular") or kind.lower(), namespaced,
                          CustomResourceStrategy(info, namespaced), tuple(names.get("shortNames") or ()),
                          tuple(names.get("categories") or ()), subresources=sub_names,
                          schema=dsl.definition_name(group, v["name"], kind))
        out.append(rt)
    return out


def _successor(spec: Obj, version: str) -> str:
    """Upstream's default deprecation warning names the newest served, non-deprecated newer version."""
    newer = [v["name"] for v in spec.get("versions") or []
             if v.get("served") and not v.get("deprecated") and version_priority(v["name"]) < version_priority(version)]
    return min(newer, key=version_priority) if newer else ""


def _columns(crd: Obj, version: str) -> list[Obj]:
    for v in crd["spec"].get("versions") or []:
        if v.get("name") == version:
            return list(v.get("additionalPrinterColumns") or [])
    return []


async def serve(registry: Registry, scheme: Scheme, schemas: SchemaRegistry, crd: Obj,
                served: Served | None) -> Served:
    """Serve (or re-serve, after a change) a CRD's versions; the record to unserve them later."""
    state = served.state if served is not None else ServingState(crd_name=crd["metadata"]["name"])
    new_types = build_types(crd, state)
    keep = {(rt.group, rt.version, rt.plural) for rt in new_types}
    if served is not None:
        for rt in served.resources:
            if (rt.group, rt.version, rt.plural) not in keep:
                await _drop(registry, scheme, rt)
        for name in served.schema_names:
            schemas.remove(name)
    record = Served(state=state)
    for rt in new_types:
        record.schema_names += dsl.mirror(schemas, rt.group, rt.version, rt.kind,
                                          rt.strategy.info.schema)  # type: ignore[attr-defined]
        subresources: dict[str, Any] = {}
        if "scale" in rt.subresources:
            subresources["scale"] = CustomScale
        await registry.install(rt, ResourceBundle(_store_factory(registry, crd, rt), subresources))
        scheme.add(rt)
        record.resources.append(rt)
    if new_types:
        scheme.set_versions(new_types[0].group, [rt.version for rt in new_types])
        first = new_types[0]
        printers.register_printer(first.group, first.kind, printers.crd_printer(_columns(crd, first.version)))
    return record


def _store_factory(registry: Registry, crd: Obj, rt: ResourceType) -> Any:
    """The generic store; for a non-storage version under a conversion webhook, that store of the
    storage version behind the webhook's conversions."""
    info: VersionInfo = rt.strategy.info  # type: ignore[attr-defined]
    spec = crd["spec"]
    conv = spec.get("conversion") or {}
    if conv.get("strategy") != "Webhook" or info.version == info.storage_version:
        return CustomResourceStore
    storage_rt = _storage_type(crd, info.state)
    converter = WebhookConverter(registry, crd["metadata"]["name"], info.group, info.kind, conv.get("webhook") or {})

    def make(served: ResourceType, storage: Any, reg: Any) -> Any:
        return WebhookConvertingStore(served, CustomResourceStore(storage_rt, storage, reg), converter)

    return make


def _storage_type(crd: Obj, state: ServingState) -> ResourceType:
    """The storage version's type, served or not (a converting store writes through it)."""
    spec = crd["spec"]
    everything = dict(crd, spec=dict(spec, versions=[dict(v, served=bool(v.get("storage")))
                                                     for v in spec.get("versions") or []]))
    return build_types(everything, state)[0]


async def _drop(registry: Registry, scheme: Scheme, rt: ResourceType) -> None:
    scheme.remove(rt)
    await registry.uninstall(rt)


async def unserve(registry: Registry, scheme: Scheme, schemas: SchemaRegistry, served: Served) -> None:
    for rt in served.resources:
        await _drop(registry, scheme, rt)
    for name in served.schema_names:
        schemas.remove(name)
    if served.resources:
        printers.unregister_printer(served.resources[0].group, served.resources[0].kind)
