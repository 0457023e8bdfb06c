"""Shared bits of the core/v1 modules: the schema name prefix, small schema
helpers and the registration of a kind (schema list type + ResourceType)."""

from __future__ import annotations

from typing import Any

from pyk8s.api.meta_v1 import define_list
from pyk8s.machinery.schema import STRING, Field, Ref, define
from pyk8s.machinery.scheme import SCHEME, ResourceType, Strategy

Obj = dict[str, Any]
P = "io.k8s.api.core.v1."
GVK_CORE = ("", "v1")

LOCAL_OBJECT_REFERENCE = P + "LocalObjectReference"
define(LOCAL_OBJECT_REFERENCE, "Names another object in the same namespace.", [
    Field("name", STRING, "Name of the referenced object."),
])


def ref(name: str) -> Ref:
    return Ref(P + name)


def free_form(name: str, description: str) -> Ref:
    """A type we accept and store as given without describing its fields."""
    return define(P + name, description, [], preserve_unknown_fields=True)


def register_kind(*, kind: str, plural: str, namespaced: bool, strategy: Strategy,
                  short_names: tuple[str, ...] = (), categories: tuple[str, ...] = (),
                  verbs: tuple[str, ...] | None = None, subresources: tuple[str, ...] = (),
                  list_desc: str = "", with_list: bool = True) -> ResourceType:
    """Add a core/v1 resource to SCHEME and its ``<Kind>List`` schema."""
    if with_list:
        define_list(P.rstrip("."), kind, GVK_CORE, list_desc or plural)
    rt = ResourceType("", "v1", kind, plural, kind.lower(), namespaced, strategy, short_names, categories,
                      subresources=subresources, schema=P + kind)
    if verbs is not None:
        rt.verbs = verbs
    return SCHEME.add(rt)


def spec_of(obj: Obj) -> Obj:
    """obj["spec"], created if missing or null."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = obj["spec"] = {}
    return spec


OBJECT_REFERENCE = P + "ObjectReference"
define(OBJECT_REFERENCE, "Points at another object, possibly a field inside it.", [
    Field("kind", STRING, "Kind of the referent."),
    Field("namespace", STRING, "Namespace of the referent."),
    Field("name", STRING, "Name of the referent."),
    Field("uid", STRING, "UID of the referent."),
    Field("apiVersion", STRING, "API version of the referent."),
    Field("resourceVersion", STRING, "Resource version the reference was made against."),
    Field("fieldPath", STRING, "Part of the object meant, e.g. spec.containers{name}."),
])
