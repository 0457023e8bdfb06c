"""Decoding ``application/vnd.kubernetes.protobuf`` request bodies into JSON-shaped dicts.

kubectl's typed clients (``create configmap|secret|deployment|...``, ``auth
can-i``, ``create token``) send protobuf.  The body is the magic ``k8s\\0``
followed by a ``runtime.Unknown`` message (``1: typeMeta {1 apiVersion,
2 kind}``, ``2: raw``, ``3: contentEncoding``, ``4: contentType``); ``raw`` is
the object's own message.

There is no generated code here: a generic wire-format reader yields
``(field number, wire type, value)`` triples and the schema registry says
what each field number means.  Field numbers come from ``Field.proto`` or
from tables registered with ``register_numbers`` (``pyk8s.api.protonumbers``
registers the ones from k8s.io/api ``generated.proto``).  A table entry may be
a tuple ``(outer, inner)`` for Go structs embedded inline in JSON but nested in
protobuf (``IngressRule.http`` is ``2 -> 1``).  Unknown field numbers are skipped.

The JSON shape follows what the Go types would encode: ``bytes`` become
base64 (Secret ``data``), maps are repeated ``{1: key, 2: value}`` entries,
``IntOrString`` is ``{1 type, 2 intVal, 3 strVal}``, ``Quantity`` is ``{1
string}``, ``Time`` is ``{1 seconds, 2 nanos}`` -> RFC 3339, ``RawExtension``
is ``{1 raw}`` holding JSON.  Zero values that Go's ``omitempty`` would hide
(empty strings, ``false``, zero times) are dropped, except where a table says a
field is a pointer whose zero value is meaningful.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from pyk8s.machinery.errors import bad_request
from pyk8s.machinery.schema import (
    REGISTRY,
    AnyValue,
    ArrayOf,
    Field,
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

MAGIC = b"k8s\x00"

META_PREFIX = "io.k8s.apimachinery.pkg.apis.meta.v1."
#: meta/v1 types upstream registers in every group version: a client sends them under its own
#: group version (``DeleteOptions`` in ``v1``, ``apps/v1``, ...), so they are found by kind alone.
OPTION_KINDS = frozenset({"DeleteOptions", "CreateOptions", "UpdateOptions", "PatchOptions", "GetOptions",
                          "ListOptions"})

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5

NumberSpec = int | tuple[int, int]

#: schema name -> {json field name: field number (or (outer, inner) for inline structs)}
FIELD_NUMBERS: dict[str, dict[str, NumberSpec]] = {}
#: (schema name, field name) whose zero value (0, false, "") is kept (pointer fields).
KEEP_ZERO: set[tuple[str, str]] = set()
#: field names whose ``false``/``""`` is kept in every schema (common pointer fields).
KEEP_ZERO_NAMES: set[str] = set()
#: integer field names that Go always encodes but JSON omits when zero (non-pointer ``omitempty``).
OMIT_ZERO_INT_NAMES: set[str] = set()


def register_numbers(table: Mapping[str, Mapping[str, NumberSpec]], *, keep_zero: set[tuple[str, str]] | None = None,
                     keep_zero_names: set[str] | None = None, omit_zero_int_names: set[str] | None = None) -> None:
    """Add field-number tables (later registrations override earlier ones per field)."""
    for schema, fields in table.items():
        FIELD_NUMBERS.setdefault(schema, {}).update(fields)
    KEEP_ZERO.update(keep_zero or ())
    KEEP_ZERO_NAMES.update(keep_zero_names or ())
    OMIT_ZERO_INT_NAMES.update(omit_zero_int_names or ())


#: (schema, field) of an AnyValue field whose protobuf form is a message (a CRD's openAPIV3Schema): the
#: proto-only schema that decodes it.
MESSAGE_FIELDS: dict[tuple[str, str], str] = {}
#: Proto-only schemas (message types that the JSON schemas hold as AnyValue), and per schema a function
#: turning a decoded message into its JSON form (JSONSchemaPropsOrBool is a bool or a schema in JSON).
PROTO_SCHEMAS = SchemaRegistry()
UNWRAP: dict[str, Callable[[dict[str, Any]], Any]] = {}


def register_messages(fields: Mapping[tuple[str, str], str], schemas: list[ObjectSchema],
                      unwrap: Mapping[str, Callable[[dict[str, Any]], Any]] | None = None) -> None:
    MESSAGE_FIELDS.update(fields)
    for schema in schemas:
        PROTO_SCHEMAS.add(schema)
    UNWRAP.update(unwrap or {})


class ProtobufError(ValueError):
    pass


# --- wire format -----------------------------------------------------------------------

def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ProtobufError("unexpected end of data in varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 70:
            raise ProtobufError("varint too long")


def iter_fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """Yield ``(number, wire type, value)``; value is an int or, for length-delimited, bytes."""
    pos = 0
    while pos < len(buf):
        key, pos = read_varint(buf, pos)
        num, wt = key >> 3, key & 7
        if wt == VARINT:
            val, pos = read_varint(buf, pos)
            yield num, wt, val
        elif wt == FIXED64:
            if pos + 8 > len(buf):
                raise ProtobufError("unexpected end of data in fixed64")
            yield num, wt, int.from_bytes(buf[pos:pos + 8], "little")
            pos += 8
        elif wt == LENGTH:
            size, pos = read_varint(buf, pos)
            if pos + size > len(buf):
                raise ProtobufError("unexpected end of data in length-delimited field")
            yield num, wt, buf[pos:pos + size]
            pos += size
        elif wt == FIXED32:
            if pos + 4 > len(buf):
                raise ProtobufError("unexpected end of data in fixed32")
            yield num, wt, int.from_bytes(buf[pos:pos + 4], "little")
            pos += 4
        else:
            raise ProtobufError(f"unsupported wire type {wt}")


def decode_generic(buf: bytes) -> dict[int, list[int | bytes]]:
    """All fields of a message by number (repeated fields keep their order)."""
    out: dict[int, list[int | bytes]] = {}
    for num, _, val in iter_fields(buf):
        out.setdefault(num, []).append(val)
    return out


def _signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


# --- schema-driven decoding --------------------------------------------------------------

class _Decoder:
    def __init__(self, registry: SchemaRegistry) -> None:
        self.registry = registry
        self._tables: dict[str, tuple[dict[int, Field], dict[int, dict[int, Field]]]] = {}

    def table(self, schema: ObjectSchema) -> tuple[dict[int, Field], dict[int, dict[int, Field]]]:
        """Field by number, and inline groups: outer number -> {inner number: Field}."""
        cached = self._tables.get(schema.name)
        if cached is not None:
            return cached
        direct: dict[int, Field] = {f.proto: f for f in schema.fields if f.proto}
        inline: dict[int, dict[int, Field]] = {}
        for name, spec in FIELD_NUMBERS.get(schema.name, {}).items():
            fld = schema.field(name)
            if fld is None:
                continue
            if isinstance(spec, tuple):
                inline.setdefault(spec[0], {})[spec[1]] = fld
            else:
                direct = {n: f for n, f in direct.items() if f.name != name}
                direct[spec] = fld
        self._tables[schema.name] = (direct, inline)
        return direct, inline

    def message(self, buf: bytes, schema: ObjectSchema) -> dict[str, Any]:
        direct, inline = self.table(schema)
        out: dict[str, Any] = {}
        for num, wt, val in iter_fields(buf):
            if num in inline and isinstance(val, bytes):
                for inum, iwt, ival in iter_fields(val):
                    fld = inline[num].get(inum)
                    if fld is not None:
                        self._set(out, schema, fld, iwt, ival)
                continue
            fld = direct.get(num)
            if fld is not None:
                self._set(out, schema, fld, wt, val)
        return {k: v for k, v in out.items() if not self._omit(schema, k, v)}

    def _omit(self, schema: ObjectSchema, name: str, value: Any) -> bool:
        if value is None:
            return True
        if (schema.name, name) in KEEP_ZERO or name in KEEP_ZERO_NAMES:
            return False
        if value is False or value == "":
            return True
        if value == 0 and type(value) is int:
            # Status counters are non-pointer omitempty ints; spec ints at zero are usually pointers.
            return name in OMIT_ZERO_INT_NAMES or schema.name.endswith("Status")
        return False

    def _set(self, out: dict[str, Any], schema: ObjectSchema, fld: Field, wt: int, val: int | bytes) -> None:
        t = fld.type
        if isinstance(t, AnyValue) and (schema.name, fld.name) in MESSAGE_FIELDS:
            t = Ref(MESSAGE_FIELDS[(schema.name, fld.name)])
        if isinstance(t, ArrayOf):
            items = out.setdefault(fld.name, [])
            if wt == LENGTH and isinstance(t.items, Primitive) and t.items.type in ("integer", "boolean", "number"):
                items.extend(self._packed(val, t.items))  # type: ignore[arg-type]
            else:
                items.append(self.value(t.items, wt, val))
        elif isinstance(t, MapOf):
            if isinstance(val, bytes):
                entry = decode_generic(val)
                key = entry.get(1, [b""])[-1]
                key_s = key.decode("utf-8") if isinstance(key, bytes) else str(key)
                raw = entry.get(2)
                if raw:
                    value = self.value(t.values, LENGTH if isinstance(raw[-1], bytes) else VARINT, raw[-1])
                else:
                    value = self.value(t.values, LENGTH, b"")
                out.setdefault(fld.name, {})[key_s] = value
        else:
            out[fld.name] = self.value(t, wt, val)

    def _packed(self, buf: bytes, t: Primitive) -> list[Any]:
        out: list[Any] = []
        pos = 0
        while pos < len(buf):
            if t.format == "double":
                out.append(struct.unpack("<d", buf[pos:pos + 8])[0])
                pos += 8
                continue
            v, pos = read_varint(buf, pos)
            out.append(bool(v) if t.type == "boolean" else _signed(v))
        return out

    def value(self, t: SchemaType, wt: int, val: int | bytes) -> Any:
        if isinstance(t, Primitive):
            return _primitive(t, wt, val)
        if not isinstance(val, bytes):
            return val if not isinstance(t, (Ref, MapOf, ArrayOf)) else None
        if isinstance(t, IntOrString):
            f = decode_generic(val)
            if f.get(1, [0])[-1] == 1:
                s = f.get(3, [b""])[-1]
                return s.decode("utf-8") if isinstance(s, bytes) else str(s)
            iv = f.get(2, [0])[-1]
            return _signed(iv) if isinstance(iv, int) else 0
        if isinstance(t, Quantity):
            s = decode_generic(val).get(1, [b""])[-1]
            return s.decode("utf-8") if isinstance(s, bytes) else str(s)
        if isinstance(t, Time):
            return _time(decode_generic(val), t.micro)
        if isinstance(t, AnyValue):
            return _raw_extension(val)
        if isinstance(t, Ref):
            sub = self.registry.resolve(t) or PROTO_SCHEMAS.resolve(t)
            if sub is None:
                return None
            decoded = self.message(val, sub)
            unwrap = UNWRAP.get(sub.name)
            return unwrap(decoded) if unwrap is not None else decoded
        return None


def _primitive(t: Primitive, wt: int, val: int | bytes) -> Any:
    if t.type == "string":
        if not isinstance(val, bytes):
            return str(val)
        if t.format == "byte":
            return base64.b64encode(val).decode("ascii")
        return val.decode("utf-8", errors="replace")
    if t.type == "boolean":
        return bool(val) if isinstance(val, int) else None
    if t.type == "integer":
        return _signed(val) if isinstance(val, int) else None
    if t.type == "number" and isinstance(val, int):
        if wt == FIXED64:
            return struct.unpack("<d", val.to_bytes(8, "little"))[0]
        if wt == FIXED32:
            return struct.unpack("<f", val.to_bytes(4, "little"))[0]
        return float(val)
    return None


def _time(fields: dict[int, list[int | bytes]], micro: bool) -> str | None:
    seconds = fields.get(1, [0])[-1]
    nanos = fields.get(2, [0])[-1]
    if not isinstance(seconds, int) or not isinstance(nanos, int):
        return None
    seconds, nanos = _signed(seconds), _signed(nanos)
    if seconds == 0 and nanos == 0:
        return None
    ts = datetime.fromtimestamp(seconds, UTC)
    if micro:
        return ts.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos // 1000:06d}Z"
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def _raw_extension(buf: bytes) -> Any:
    raw = decode_generic(buf).get(1, [b""])[-1]
    if not isinstance(raw, bytes) or not raw:
        return None
    try:
        return orjson.loads(raw)  # not json.loads: deep nesting is an error here, not a RecursionError
    except ValueError:
        return base64.b64encode(raw).decode("ascii")


# --- entry points ------------------------------------------------------------------------------

def decode_unknown(body: bytes) -> tuple[str, str, bytes]:
    """``(apiVersion, kind, raw)`` of an enveloped body; raises ProtobufError."""
    if not body.startswith(MAGIC):
        raise ProtobufError(f"provided data does not appear to be a protobuf message, expected prefix {list(MAGIC)}")
    fields = decode_generic(body[len(MAGIC):])
    type_meta = fields.get(1, [b""])[-1]
    raw = fields.get(2, [b""])[-1]
    tm = decode_generic(type_meta) if isinstance(type_meta, bytes) else {}
    api_version = tm.get(1, [b""])[-1]
    kind = tm.get(2, [b""])[-1]
    return (api_version.decode() if isinstance(api_version, bytes) else "",
            kind.decode() if isinstance(kind, bytes) else "",
            raw if isinstance(raw, bytes) else b"")


def decode_message(raw: bytes, schema_name: str, registry: SchemaRegistry | None = None) -> dict[str, Any]:
    reg = registry if registry is not None else REGISTRY
    schema = reg.get(schema_name)
    if schema is None:
        raise ProtobufError(f"no schema {schema_name}")
    return _Decoder(reg).message(raw, schema)


def decode_k8s_protobuf(body: bytes, registry: SchemaRegistry | None = None) -> dict[str, Any]:
    """Decode a kubectl protobuf request body into the JSON-shaped object.

    Raises a 400 StatusError for bodies that are not protobuf or name a kind the registry lacks.
    """
    reg = registry if registry is not None else REGISTRY
    try:
        api_version, kind, raw = decode_unknown(body)
        group, _, version = api_version.rpartition("/")
        schema = reg.for_gvk(group, version, kind)
        if schema is None and kind in OPTION_KINDS:
            schema = reg.get(META_PREFIX + kind)
        if schema is None:
            raise bad_request(f'no kind "{kind}" is registered for version "{api_version}"')
        obj = _Decoder(reg).message(raw, schema)
    except ProtobufError as e:
        raise bad_request(str(e)) from None
    except (UnicodeDecodeError, struct.error) as e:
        raise bad_request(f"unable to decode protobuf body: {e}") from None
    return {"kind": kind, "apiVersion": api_version, **obj}


# --- encoding (tests and tools build bodies with these) --------------------------------------------

def encode_varint(v: int) -> bytes:
    if v < 0:
        v += 1 << 64
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def encode_field(num: int, value: int | bytes | str) -> bytes:
    """One field: ints as varints, str/bytes length-delimited."""
    if isinstance(value, int):
        return encode_varint(num << 3 | VARINT) + encode_varint(value)
    data = value.encode() if isinstance(value, str) else value
    return encode_varint(num << 3 | LENGTH) + encode_varint(len(data)) + data


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    """``k8s\\0`` + runtime.Unknown, as kubectl sends it."""
    type_meta = encode_field(1, api_version) + encode_field(2, kind)
    return MAGIC + encode_field(1, type_meta) + encode_field(2, raw) + encode_field(3, "") + encode_field(4, "")


__all__ = ["decode_k8s_protobuf", "decode_message", "decode_unknown", "envelope", "register_numbers"]
