"""Type and range checks of a decoded object against its schema, as upstream's typed decoder applies them.

Upstream decodes every body into Go structs: a number where a string belongs, a
string where a map belongs, or 2147483648 in an int32 field fails decoding, so no
client ever reads such an object back.  pyk8s keeps objects as dicts; this walk
finds the first value the Go decoder would refuse and words it as Go's
``encoding/json`` does::

    json: cannot unmarshal number into Go struct field ConfigMap.data of type string

(the struct that holds the field, the field path from the root without map keys
or indices, the Go type).  The schema DSL (``schema.py``) is the only source of
field types; free-form values (``AnyValue``, objects that keep unknown fields and
declare none) are not looked into.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from pyk8s.machinery import nesting, validation
from pyk8s.machinery.errors import StatusError
from pyk8s.machinery.schema import (
    REGISTRY,
    AnyValue,
    ArrayOf,
    IntOrString,
    MapOf,
    ObjectSchema,
    Primitive,
    Quantity,
    Ref,
    SchemaRegistry,
    SchemaType,
    Time,
)

_SMD_KINDS = {"string": "string", "[]uint8": "string", "v1.Time": "string", "v1.MicroTime": "string",
              "bool": "boolean", "int32": "numeric (int or float)", "int64": "numeric (int or float)",
              "float32": "numeric (int or float)", "float64": "numeric (int or float)",
              "intstr.IntOrString": "string or numeric", "resource.Quantity": "string or numeric"}
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_QUANTITY_PATTERN = "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"


#: Types whose Go decoder keeps any JSON as raw bytes: nothing to check inside or about them.
RAW_JSON = frozenset({"io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1"})


@dataclass(frozen=True, slots=True)
class Mismatch:
    """The first value the typed decoder refuses."""

    struct: str  # Go struct holding the field ("" when a custom decoder failed on its own)
    field: str  # dotted JSON field names from the root (Go's error context)
    go_type: str  # Go type the value had to decode into
    got: str  # "number", "string", "number 2147483648", ...
    path: str  # full path with map keys and indices (".data.k", ".spec.containers[0].name")
    text: str = ""  # a custom decoder's own message (Quantity)
    value: Any = None  # what was found

    def apply_message(self) -> str:
        """How server-side apply's typed conversion (structured-merge-diff) words a wrong type."""
        want = _SMD_KINDS.get(self.go_type) or ("list" if self.go_type.startswith("[]") else "map")
        if self.got.startswith("number "):  # a range error: the typed decoder that follows refuses it
            return f"{self.path}: {self.message()}"
        return f"{self.path}: expected {want}, got {orjson.dumps(self.value).decode()[:100]}"

    def message(self) -> str:
        if self.text:
            return self.text
        if self.struct:
            return f"json: cannot unmarshal {self.got} into Go struct field {self.struct}.{self.field} of type {self.go_type}"
        return f"json: cannot unmarshal {self.got} into Go value of type {self.go_type}"


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _package(schema_name: str) -> str:
    parts = schema_name.split(".")
    return f"{parts[-2]}.{parts[-1]}" if len(parts) >= 2 else schema_name


def go_type(reg: SchemaRegistry, t: SchemaType) -> str:
    """How Go's reflect names the field's type (``[]v1.Container``, ``map[string]string``)."""
    if isinstance(t, Primitive):
        if t.type == "integer":
            return t.format if t.format in _INT_RANGES else "int64"
        if t.type == "number":
            return "float32" if t.format == "float" else "float64"
        if t.type == "boolean":
            return "bool"
        return "[]uint8" if t.format == "byte" else "string"
    if isinstance(t, ArrayOf):
        return "[]" + go_type(reg, t.items)
    if isinstance(t, MapOf):
        return "map[string]" + go_type(reg, t.values)
    if isinstance(t, Ref):
        return _package(t.name)
    if isinstance(t, IntOrString):
        return "intstr.IntOrString"
    if isinstance(t, Quantity):
        return "resource.Quantity"
    if isinstance(t, Time):
        return "v1.MicroTime" if t.micro else "v1.Time"
    return "interface {}"


class _Walk:
    def __init__(self, reg: SchemaRegistry) -> None:
        self.reg = reg

    def object(self, obj: dict[str, Any], schema: ObjectSchema, struct: str, field: str, path: str) -> Mismatch | None:
        for key, value in obj.items():
            fld = schema.field(key)
            if fld is None:
                continue  # unknown fields are fieldcheck's business
            sub_field = f"{field}.{key}" if field else key
            found = self.value(value, fld.type, struct, sub_field, f"{path}.{key}")
            if found is not None:
                return found
        return None

    def value(self, value: Any, t: SchemaType, struct: str, field: str, path: str) -> Mismatch | None:
        if value is None or isinstance(t, AnyValue):
            return None  # null decodes to the zero value of any type
        if isinstance(t, Primitive):
            got = _primitive_problem(value, t)
            return None if got is None else self.wrong(value, t, struct, field, path, got)
        if isinstance(t, Ref):
            schema = self.reg.resolve(t)
            if schema is None or t.name in RAW_JSON:
                return None
            if not isinstance(value, dict):
                return self.wrong(value, t, struct, field, path)
            if schema.preserve_unknown_fields and not schema.fields:
                return None  # a Go struct whose fields we do not describe: an object is all we can check
            return self.object(value, schema, t.name.rsplit(".", 1)[-1], field, path)
        if isinstance(t, ArrayOf):
            if not isinstance(value, list):
                return self.wrong(value, t, struct, field, path)
            for i, item in enumerate(value):
                if item is not None and (found := self.value(item, t.items, struct, field, f"{path}[{i}]")):
                    return found
            return None
        if isinstance(t, MapOf):
            if not isinstance(value, dict):
                return self.wrong(value, t, struct, field, path)
            for key, item in value.items():
                if item is not None and (found := self.value(item, t.values, struct, field, f"{path}.{key}")):
                    return found
            return None
        return self.custom(value, t, path)

    # The same walk answering only yes or no, without building a path for every field: nearly every
    # body decodes, and the walk above then runs only to word the mismatch this one found.

    def object_ok(self, obj: dict[str, Any], schema: ObjectSchema) -> bool:
        for key, value in obj.items():
            fld = schema.field(key)
            if fld is not None and value is not None and not self.ok(value, fld.type):
                return False
        return True

    def ok(self, value: Any, t: SchemaType) -> bool:
        if value is None or isinstance(t, AnyValue):
            return True
        if isinstance(t, Primitive):
            return _primitive_problem(value, t) is None
        if isinstance(t, Ref):
            schema = self.reg.resolve(t)
            if schema is None or t.name in RAW_JSON:
                return True
            if not isinstance(value, dict):
                return False
            if schema.preserve_unknown_fields and not schema.fields:
                return True
            return self.object_ok(value, schema)
        if isinstance(t, ArrayOf):
            if not isinstance(value, list):
                return False
            for item in value:  # a loop, not all(<generator>): this runs for every list in every body
                if item is not None and not self.ok(item, t.items):
                    return False
            return True
        if isinstance(t, MapOf):
            if not isinstance(value, dict):
                return False
            for item in value.values():
                if item is not None and not self.ok(item, t.values):
                    return False
            return True
        return self.custom(value, t, "") is None

    def wrong(self, value: Any, t: SchemaType, struct: str, field: str, path: str, got: str = "") -> Mismatch:
        return Mismatch(struct, field, go_type(self.reg, t), got or _json_kind(value), path, value=value)

    @staticmethod
    def custom(value: Any, t: SchemaType, path: str) -> Mismatch | None:
        """Types with their own JSON decoders, which word their errors without a struct field."""
        kind = _json_kind(value)
        if isinstance(t, IntOrString):
            if kind == "string":
                return None
            if kind != "number":
                return Mismatch("", "", "intstr.IntOrString", kind, path, value=value,
                                text=f"json: cannot unmarshal {kind} into Go value of type int32")
            if isinstance(value, float) or not _INT_RANGES["int32"][0] <= value <= _INT_RANGES["int32"][1]:
                return Mismatch("", "", "int32", f"number {_number_text(value)}", path, value=value)
            return None
        if isinstance(t, Quantity):
            if kind in ("string", "number"):
                return None
            return Mismatch("", "", "resource.Quantity", kind, path,
                            f"quantities must match the regular expression {_QUANTITY_PATTERN}", value)
        if isinstance(t, Time):
            return None if kind == "string" else Mismatch("", "", "v1.Time", kind, path, value=value,
                                                          text=f"json: cannot unmarshal {kind} into Go value of type string")
        return None


def _primitive_problem(value: Any, t: Primitive) -> str | None:
    """What the decoder reports for ``value`` in a field of type ``t`` ("number", "number 1.5"), or None."""
    if t.type == "string":
        return None if isinstance(value, str) else _json_kind(value)
    if t.type == "boolean":
        return None if isinstance(value, bool) else _json_kind(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return _json_kind(value)
    if t.type == "integer":
        low, high = _INT_RANGES.get(t.format, _INT_RANGES["int64"])
        if isinstance(value, float) or not low <= value <= high:
            return f"number {_number_text(value)}"
    return None


def _number_text(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return f"{value:.1f}" if abs(value) < 1e16 else f"{value:g}"
    return str(value)


def first_mismatch(obj: Any, schema_name: str, registry: SchemaRegistry | None = None) -> Mismatch | None:
    """The first value in ``obj`` (in document order) that does not decode into its schema's type."""
    reg = registry if registry is not None else REGISTRY
    schema = reg.get(schema_name)
    if schema is None or not isinstance(obj, dict):
        return None
    walk = _Walk(reg)
    if walk.object_ok(obj, schema):
        return None
    return walk.object(obj, schema, schema_name.rsplit(".", 1)[-1], "", "")


def decodes_as(value: Any, t: SchemaType, registry: SchemaRegistry | None = None) -> bool:
    """Whether ``value`` would decode into ``t`` (and nests within bounds): for JSON held in strings."""
    if nesting.too_deep(value) is not None:
        return False
    return _Walk(registry if registry is not None else REGISTRY).value(value, t, "", "", "") is None


def check_patched(obj: Any, schema_name: str, registry: SchemaRegistry | None = None) -> None:
    """A patch whose result does not decode: upstream's 422 on the ``patch`` field, carrying the patched JSON."""
    mismatch = first_mismatch(obj, schema_name, registry)
    if mismatch is None:
        return
    err = validation.invalid("patch", orjson.dumps(obj).decode(), mismatch.message())
    # NewInvalid with an empty GroupKind and name: the message starts ` "" is invalid`.
    raise StatusError(422, "Invalid", f' "" is invalid: patch: {err.message}', causes=[err.to_cause()])


def check_apply_config(config: Any, schema_name: str, gvk: str, registry: SchemaRegistry | None = None) -> None:
    """An apply configuration that does not convert to its type: a 400 worded as apply's typed conversion.

    (Upstream answers this one with a 500; a client's mistake is a 400 here.)
    """
    mismatch = first_mismatch(config, schema_name, registry)
    if mismatch is not None:
        raise StatusError(400, "BadRequest",
                          f"failed to create typed patch object ({gvk}): {mismatch.apply_message()}")
