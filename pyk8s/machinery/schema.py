"""A small schema language for API types: the one source for OpenAPI documents,
``kubectl explain``, strategic-merge-patch metadata, strict (unknown-field)
validation and protobuf decoding.

Objects stay plain dicts at run time; schemas describe them.  An object type is
an ``ObjectSchema`` registered under its OpenAPI name (for example
``io.k8s.api.core.v1.Container``); fields refer to other object types with
``Ref``, so recursive and shared types are declared once.

Example::

    CONTAINER = define("io.k8s.api.core.v1.Container", "One container in a pod.", [
        Field("name", STRING, "Unique name of the container within the pod.", required=True),
        Field("ports", ArrayOf(Ref("io.k8s.api.core.v1.ContainerPort")), "Ports to expose.",
              merge_key="containerPort", strategy="merge", list_type="map", list_map_keys=("containerPort", "protocol"), proto=6),
    ])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union


@dataclass(frozen=True, slots=True)
class Primitive:
    type: str  # string | integer | number | boolean
    format: str = ""  # int32, int64, byte, date-time, double, ...


@dataclass(frozen=True, slots=True)
class IntOrString:
    """Kubernetes' intstr.IntOrString (``x-kubernetes-int-or-string``)."""


@dataclass(frozen=True, slots=True)
class Quantity:
    """resource.Quantity: a string like ``100m`` or ``1Gi`` (numbers accepted)."""


@dataclass(frozen=True, slots=True)
class Time:
    """metav1.Time: an RFC 3339 string with second precision (``date-time``)."""

    micro: bool = False  # metav1.MicroTime


@dataclass(frozen=True, slots=True)
class AnyValue:
    """Free-form JSON (RawExtension, JSON, preserved unknown fields)."""

    embedded_object: bool = False  # runtime.RawExtension holding an object


@dataclass(frozen=True, slots=True)
class Ref:
    name: str  # the ObjectSchema name


@dataclass(frozen=True, slots=True)
class ArrayOf:
    items: SchemaType


@dataclass(frozen=True, slots=True)
class MapOf:
    values: SchemaType


SchemaType = Union[Primitive, IntOrString, Quantity, Time, AnyValue, Ref, ArrayOf, MapOf]

STRING = Primitive("string")
BYTES = Primitive("string", "byte")  # base64 in JSON, raw bytes in protobuf
BOOL = Primitive("boolean")
INT32 = Primitive("integer", "int32")
INT64 = Primitive("integer", "int64")
DOUBLE = Primitive("number", "double")
TIME = Time()
MICROTIME = Time(micro=True)
STRING_MAP = MapOf(STRING)
STRING_LIST = ArrayOf(STRING)


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type: SchemaType
    description: str = ""
    required: bool = False
    # Strategic merge patch metadata (x-kubernetes-patch-merge-key / -strategy):
    merge_key: str = ""
    strategy: str = ""  # "", "merge", "retainKeys", "merge,retainKeys", "replace"
    # Server-side apply list semantics (x-kubernetes-list-type / -map-keys):
    list_type: str = ""  # "", "atomic", "set", "map"
    list_map_keys: tuple[str, ...] = ()
    map_type: str = ""  # "", "atomic", "granular"
    proto: int = 0  # field number in k8s.io/api generated.proto (0 = unknown)


@dataclass(slots=True)
class ObjectSchema:
    name: str
    description: str
    fields: list[Field]
    # (group, version, kind) for top-level kinds; lets explain/kubectl find them.
    gvk: tuple[str, str, str] | None = None
    preserve_unknown_fields: bool = False
    by_name: dict[str, Field] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.by_name = {f.name: f for f in self.fields}

    def field(self, name: str) -> Field | None:
        return self.by_name.get(name)


class SchemaRegistry:
    """All object schemas by name.  Kinds (CRDs later) may be added at run time."""

    def __init__(self) -> None:
        self._schemas: dict[str, ObjectSchema] = {}

    def add(self, schema: ObjectSchema) -> ObjectSchema:
        self._schemas[schema.name] = schema
        return schema

    def remove(self, name: str) -> None:
        self._schemas.pop(name, None)

    def get(self, name: str) -> ObjectSchema | None:
        return self._schemas.get(name)

    def resolve(self, t: SchemaType) -> ObjectSchema | None:
        """The ObjectSchema a Ref points at (None for anything else)."""
        return self._schemas.get(t.name) if isinstance(t, Ref) else None

    def for_gvk(self, group: str, version: str, kind: str) -> ObjectSchema | None:
        for s in self._schemas.values():
            if s.gvk == (group, version, kind):
                return s
        return None

    def all(self) -> list[ObjectSchema]:
        return list(self._schemas.values())


#: The process-wide registry that ``pyk8s.api`` modules fill at import time.
REGISTRY = SchemaRegistry()


def define(
    name: str,
    description: str,
    fields: list[Field],
    *,
    gvk: tuple[str, str, str] | None = None,
    preserve_unknown_fields: bool = False,
) -> Ref:
    """Register an object schema and return a Ref to it."""
    REGISTRY.add(ObjectSchema(name, description, fields, gvk, preserve_unknown_fields))
    return Ref(name)
