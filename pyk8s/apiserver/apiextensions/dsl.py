"""A CRD version's ``openAPIV3Schema`` mirrored into the schema language
(``machinery/schema.py``), so the machinery built on it serves custom
resources as it serves built-in kinds: OpenAPI v2/v3 and ``kubectl explain``,
unknown-field detection (fieldValidation) and server-side apply (list types
and map keys drive managedFields).

The root is named as upstream names a CRD's definition (the group reversed:
``com.example.stable.v1.CronTab``); each nested object with properties gets
``<root>.<path>`` of its own, so recursive walkers see ordinary ``Ref``s.
"""

from __future__ import annotations

from typing import Any

from pyk8s.machinery.schema import (
    AnyValue,
    ArrayOf,
    Field,
    IntOrString,
    MapOf,
    ObjectSchema,
    Primitive,
    Ref,
    SchemaRegistry,
    SchemaType,
)

Obj = dict[str, Any]
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
LIST_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"


def definition_name(group: str, version: str, kind: str) -> str:
    return ".".join([*reversed(group.split(".")), version, kind])


def mirror(registry: SchemaRegistry, group: str, version: str, kind: str, schema: Obj) -> list[str]:
    """Register the root (and List) schema of one served version; the names registered."""
    root = definition_name(group, version, kind)
    names: list[str] = []
    fields = [Field("apiVersion", Primitive("string"), _API_VERSION_TEXT),
              Field("kind", Primitive("string"), _KIND_TEXT),
              Field("metadata", Ref(OBJECT_META), "Standard object's metadata.")]
    props = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    for key, sub in props.items():
        if key in ("apiVersion", "kind", "metadata"):
            continue
        fields.append(_field(registry, f"{root}.{key}", key, sub, key in required, names))
    registry.add(ObjectSchema(root, str(schema.get("description") or ""), fields, gvk=(group, version, kind),
                              preserve_unknown_fields=bool(schema.get("x-kubernetes-preserve-unknown-fields"))))
    names.append(root)
    list_name = root + "List"
    registry.add(ObjectSchema(list_name, f"{kind}List is a list of {kind}", [
        Field("apiVersion", Primitive("string"), _API_VERSION_TEXT),
        Field("kind", Primitive("string"), _KIND_TEXT),
        Field("metadata", Ref(LIST_META), "Standard list metadata."),
        Field("items", ArrayOf(Ref(root)), f"List of {kind.lower()}s.", required=True),
    ], gvk=(group, version, kind + "List")))
    names.append(list_name)
    return names


def _field(registry: SchemaRegistry, name: str, key: str, schema: Obj, required: bool, names: list[str]) -> Field:
    return Field(key, _type(registry, name, schema, names), str(schema.get("description") or ""), required=required,
                 list_type=str(schema.get("x-kubernetes-list-type") or ""),
                 list_map_keys=tuple(schema.get("x-kubernetes-list-map-keys") or ()),
                 map_type=str(schema.get("x-kubernetes-map-type") or ""))


def _type(registry: SchemaRegistry, name: str, schema: Obj, names: list[str]) -> SchemaType:
    if schema.get("x-kubernetes-int-or-string"):
        return IntOrString()
    kind = schema.get("type")
    if kind == "array":
        items = schema.get("items")
        return ArrayOf(_type(registry, name, items, names) if isinstance(items, dict) else AnyValue())
    if kind in ("string", "integer", "number", "boolean"):
        return Primitive(kind, str(schema.get("format") or ""))
    props = schema.get("properties")
    extra = schema.get("additionalProperties")
    embedded = bool(schema.get("x-kubernetes-embedded-resource"))
    if not props and isinstance(extra, dict):
        return MapOf(_type(registry, name, extra, names))
    if not props and (schema.get("x-kubernetes-preserve-unknown-fields") or extra is True or kind != "object"):
        return AnyValue(embedded_object=embedded)
    required = set(schema.get("required") or ())
    fields: list[Field] = []
    if embedded:
        fields += [Field("apiVersion", Primitive("string"), _API_VERSION_TEXT),
                   Field("kind", Primitive("string"), _KIND_TEXT),
                   Field("metadata", AnyValue(), "Standard object's metadata.")]
    for key, sub in (props or {}).items():
        fields.append(_field(registry, f"{name}.{key}", key, sub, key in required, names))
    registry.add(ObjectSchema(name, str(schema.get("description") or ""), fields,
                              preserve_unknown_fields=bool(schema.get("x-kubernetes-preserve-unknown-fields"))))
    names.append(name)
    return Ref(name)


_API_VERSION_TEXT = ("APIVersion defines the versioned schema of this representation of an object. Servers should "
                     "convert recognized schemas to the latest internal value, and may reject unrecognized values.")
_KIND_TEXT = ("Kind is a string value representing the REST resource this object represents. Servers may infer "
              "this from the endpoint the client submits requests to. Cannot be updated. In CamelCase.")
