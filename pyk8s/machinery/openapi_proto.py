"""Encoding a Swagger 2.0 document (JSON-shaped dicts) as gnostic's ``openapi.v2.Document`` protobuf.

``GET /openapi/v2`` with ``Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf``
is how kubectl (client-go's discovery ``OpenAPISchema``) fetches the v2 document: it unmarshals
the body into gnostic-models' ``openapi_v2.Document`` and builds kube-openapi's models from it
(client-side validation of ``kind: List`` manifests, and fallbacks elsewhere).

The mapping follows what gnostic's own JSON/YAML reader produces, so a document served in both
forms says the same thing:

* JSON maps become repeated ``Named*`` entries ``{1: name, 2: value}`` in document order
  (``paths``, ``definitions``, ``properties``, ``responses``, ``securityDefinitions``...);
* keys starting with ``x-`` become ``vendor_extension`` entries whose value is an ``Any`` with its
  ``yaml`` field holding the value's text (JSON, which is also YAML; kube-openapi parses it with a
  YAML decoder);
* ``type`` is a ``TypeItem`` (a list of names), ``items`` an ``ItemsItem`` (a list of schemas),
  ``additionalProperties`` a schema-or-boolean ``oneof``;
* parameters are ``ParametersItem`` -> ``Parameter`` -> body or non-body (by ``in``), responses
  ``ResponseValue`` -> ``Response``; either may instead be a ``JsonReference`` when it has ``$ref``;
* ``default``, ``example`` and ``enum`` values are ``Any`` messages as well.

Keys the message has no field for are dropped (gnostic would reject them); empty strings, zero
numbers and false booleans are left out, as proto3 does.  There is no generated code: a small
wire-format writer and one function per message, with field numbers as gnostic's
``openapiv2/OpenAPIv2.proto`` assigns them.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from typing import Any

import orjson

Doc = Mapping[str, Any]

MEDIA_TYPE = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"

_VARINT, _FIXED64, _LENGTH = 0, 1, 2


# --- wire format ---------------------------------------------------------------------------------

def _varint(v: int) -> bytes:
    if v < 0:
        v += 1 << 64
    if v < 0x80:
        return bytes((v,))
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


_TAGS: dict[tuple[int, int], bytes] = {}


def _tag(num: int, wire: int) -> bytes:
    key = (num, wire)
    tag = _TAGS.get(key)
    if tag is None:
        tag = _TAGS[key] = _varint(num << 3 | wire)
    return tag


def _len(num: int, payload: bytes) -> bytes:
    """A length-delimited field (string, bytes or embedded message), present even when empty."""
    return _tag(num, _LENGTH) + _varint(len(payload)) + payload


def _string(num: int, value: Any) -> bytes:
    if not value:
        return b""
    return _len(num, str(value).encode())


def _strings(num: int, values: Any) -> bytes:
    if isinstance(values, str):
        values = [values]
    return b"".join(_len(num, str(v).encode()) for v in values or ())


def _bool(num: int, value: Any) -> bytes:
    return _tag(num, _VARINT) + b"\x01" if value else b""


def _int64(num: int, value: Any) -> bytes:
    if not value:
        return b""
    return _tag(num, _VARINT) + _varint(int(value))


def _double(num: int, value: Any) -> bytes:
    if not value:
        return b""
    return _tag(num, _FIXED64) + struct.pack("<d", float(value))


def _message(num: int, payload: bytes | None) -> bytes:
    return b"" if payload is None else _len(num, payload)


def _repeated(num: int, items: Any, encode: Callable[[Any], bytes]) -> bytes:
    return b"".join(_len(num, encode(item)) for item in items or ())


def _named(num: int, mapping: Any, encode: Callable[[Any], bytes], *, skip_ext: bool = False) -> bytes:
    """A JSON map as repeated ``Named*`` messages ``{1: name, 2: value}``."""
    if not mapping:
        return b""
    out = []
    for name, value in mapping.items():
        if skip_ext and name.startswith("x-"):
            continue
        out.append(_len(num, _string(1, name) + _len(2, encode(value))))
    return b"".join(out)


# --- Any and vendor extensions ---------------------------------------------------------------------

def _yaml_text(value: Any) -> str:
    """The value as YAML text: its JSON form, which YAML reads as a flow collection or a quoted scalar."""
    return orjson.dumps(value).decode() + "\n"


def any_message(value: Any) -> bytes:
    """gnostic ``Any``: ``2 yaml`` (``1 value``, a google.protobuf.Any, is never used for JSON input)."""
    return _len(2, _yaml_text(value).encode())


def _extensions(num: int, doc: Doc) -> bytes:
    out = []
    for name, value in doc.items():
        if name.startswith("x-"):
            out.append(_len(num, _string(1, name) + _len(2, any_message(value))))
    return b"".join(out)


def _any(num: int, doc: Doc, key: str) -> bytes:
    return _len(num, any_message(doc[key])) if key in doc else b""


def _enum(num: int, doc: Doc) -> bytes:
    return b"".join(_len(num, any_message(v)) for v in doc.get("enum") or ())


# --- small messages --------------------------------------------------------------------------------

def _external_docs(doc: Doc) -> bytes:
    return _string(1, doc.get("description")) + _string(2, doc.get("url")) + _extensions(3, doc)


def _opt_external_docs(num: int, doc: Doc) -> bytes:
    ed = doc.get("externalDocs")
    return _message(num, _external_docs(ed)) if isinstance(ed, Mapping) else b""


def _info(doc: Doc) -> bytes:
    out = [_string(1, doc.get("title")), _string(2, doc.get("version")), _string(3, doc.get("description")),
           _string(4, doc.get("termsOfService"))]
    contact = doc.get("contact")
    if isinstance(contact, Mapping):
        out.append(_len(5, _string(1, contact.get("name")) + _string(2, contact.get("url"))
                        + _string(3, contact.get("email")) + _extensions(4, contact)))
    lic = doc.get("license")
    if isinstance(lic, Mapping):
        out.append(_len(6, _string(1, lic.get("name")) + _string(2, lic.get("url")) + _extensions(3, lic)))
    out.append(_extensions(7, doc))
    return b"".join(out)


def _tag_object(doc: Doc) -> bytes:
    return (_string(1, doc.get("name")) + _string(2, doc.get("description")) + _opt_external_docs(3, doc)
            + _extensions(4, doc))


def _json_reference(doc: Doc) -> bytes:
    return _string(1, doc.get("$ref")) + _string(2, doc.get("description"))


def _xml(doc: Doc) -> bytes:
    return (_string(1, doc.get("name")) + _string(2, doc.get("namespace")) + _string(3, doc.get("prefix"))
            + _bool(4, doc.get("attribute")) + _bool(5, doc.get("wrapped")) + _extensions(6, doc))


# --- schemas --------------------------------------------------------------------------------------

def schema(doc: Doc) -> bytes:
    """gnostic ``Schema``."""
    out = [_string(1, doc.get("$ref")), _string(2, doc.get("format")), _string(3, doc.get("title")),
           _string(4, doc.get("description")), _any(5, doc, "default"), _double(6, doc.get("multipleOf")),
           _double(7, doc.get("maximum")), _bool(8, doc.get("exclusiveMaximum")), _double(9, doc.get("minimum")),
           _bool(10, doc.get("exclusiveMinimum")), _int64(11, doc.get("maxLength")),
           _int64(12, doc.get("minLength")), _string(13, doc.get("pattern")), _int64(14, doc.get("maxItems")),
           _int64(15, doc.get("minItems")), _bool(16, doc.get("uniqueItems")),
           _int64(17, doc.get("maxProperties")), _int64(18, doc.get("minProperties")),
           _strings(19, doc.get("required")), _enum(20, doc)]
    if "additionalProperties" in doc:
        extra = doc["additionalProperties"]
        if isinstance(extra, Mapping):
            out.append(_len(21, _len(1, schema(extra))))
        else:  # a oneof member: false is still encoded
            out.append(_len(21, _tag(2, _VARINT) + (b"\x01" if extra else b"\x00")))
    if "type" in doc:
        out.append(_len(22, _strings(1, doc["type"])))
    if "items" in doc:
        items = doc["items"]
        out.append(_len(23, _repeated(1, [items] if isinstance(items, Mapping) else items, schema)))
    out.append(_repeated(24, doc.get("allOf"), schema))
    if "properties" in doc:
        out.append(_len(25, _named(1, doc["properties"], schema)))
    out += [_string(26, doc.get("discriminator")), _bool(27, doc.get("readOnly"))]
    if isinstance(doc.get("xml"), Mapping):
        out.append(_len(28, _xml(doc["xml"])))
    out += [_opt_external_docs(29, doc), _any(30, doc, "example"), _extensions(31, doc)]
    return b"".join(out)


def _file_schema(doc: Doc) -> bytes:
    return (_string(1, doc.get("format")) + _string(2, doc.get("title")) + _string(3, doc.get("description"))
            + _any(4, doc, "default") + _strings(5, doc.get("required")) + _string(6, doc.get("type"))
            + _bool(7, doc.get("readOnly")) + _opt_external_docs(8, doc) + _any(9, doc, "example")
            + _extensions(10, doc))


# The validation keywords shared by non-body parameters, response headers and primitive items, in
# their field order; each message numbers them from its own start.
_VALIDATION_KEYS = ("type", "format", "items", "collectionFormat", "default", "maximum", "exclusiveMaximum",
                    "minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems",
                    "uniqueItems", "enum", "multipleOf")


def _validations(doc: Doc, start: int) -> bytes:
    n = start
    out = [_string(n, doc.get("type")), _string(n + 1, doc.get("format"))]
    if isinstance(doc.get("items"), Mapping):
        out.append(_len(n + 2, _primitives_items(doc["items"])))
    out += [_string(n + 3, doc.get("collectionFormat")), _any(n + 4, doc, "default"),
            _double(n + 5, doc.get("maximum")), _bool(n + 6, doc.get("exclusiveMaximum")),
            _double(n + 7, doc.get("minimum")), _bool(n + 8, doc.get("exclusiveMinimum")),
            _int64(n + 9, doc.get("maxLength")), _int64(n + 10, doc.get("minLength")),
            _string(n + 11, doc.get("pattern")), _int64(n + 12, doc.get("maxItems")),
            _int64(n + 13, doc.get("minItems")), _bool(n + 14, doc.get("uniqueItems")), _enum(n + 15, doc),
            _double(n + 16, doc.get("multipleOf"))]
    return b"".join(out)


def _primitives_items(doc: Doc) -> bytes:
    return _validations(doc, 1) + _extensions(len(_VALIDATION_KEYS) + 1, doc)


def _header(doc: Doc) -> bytes:
    return _validations(doc, 1) + _string(18, doc.get("description")) + _extensions(19, doc)


# --- parameters and responses ---------------------------------------------------------------------

def _non_body_parameter(doc: Doc) -> bytes:
    where = doc.get("in")
    head = (_bool(1, doc.get("required")) + _string(2, where) + _string(3, doc.get("description"))
            + _string(4, doc.get("name")))
    if where in ("query", "formData"):
        # 5 allowEmptyValue, then the validation keywords from 6, extensions at 23.
        body = head + _bool(5, doc.get("allowEmptyValue")) + _validations(doc, 6) + _extensions(23, doc)
        return _len(3 if where == "query" else 2, body)
    # header and path: the validation keywords from 5, extensions at 22.
    body = head + _validations(doc, 5) + _extensions(22, doc)
    return _len(1 if where == "header" else 4, body)


def parameter(doc: Doc) -> bytes:
    """gnostic ``Parameter``: ``1 body_parameter`` or ``2 non_body_parameter``."""
    if doc.get("in") == "body":
        body = (_string(1, doc.get("description")) + _string(2, doc.get("name")) + _string(3, doc.get("in"))
                + _bool(4, doc.get("required")))
        if isinstance(doc.get("schema"), Mapping):
            body += _len(5, schema(doc["schema"]))
        return _len(1, body + _extensions(6, doc))
    return _len(2, _non_body_parameter(doc))


def _parameters_item(doc: Doc) -> bytes:
    if "$ref" in doc:
        return _len(2, _json_reference(doc))
    return _len(1, parameter(doc))


def response(doc: Doc) -> bytes:
    out = [_string(1, doc.get("description"))]
    body = doc.get("schema")
    if isinstance(body, Mapping):
        out.append(_len(2, _len(2, _file_schema(body)) if body.get("type") == "file" else _len(1, schema(body))))
    if isinstance(doc.get("headers"), Mapping):
        out.append(_len(3, _named(1, doc["headers"], _header)))
    if isinstance(doc.get("examples"), Mapping):
        out.append(_len(4, _named(1, doc["examples"], any_message)))
    out.append(_extensions(5, doc))
    return b"".join(out)


def _response_value(doc: Doc) -> bytes:
    if "$ref" in doc:
        return _len(2, _json_reference(doc))
    return _len(1, response(doc))


def _responses(doc: Doc) -> bytes:
    return _named(1, doc, _response_value, skip_ext=True) + _extensions(2, doc)


def _security_requirement(doc: Doc) -> bytes:
    return _named(1, doc, lambda scopes: _strings(1, scopes))


# --- operations and paths -------------------------------------------------------------------------

def operation(doc: Doc) -> bytes:
    out = [_strings(1, doc.get("tags")), _string(2, doc.get("summary")), _string(3, doc.get("description")),
           _opt_external_docs(4, doc), _string(5, doc.get("operationId")), _strings(6, doc.get("produces")),
           _strings(7, doc.get("consumes")), _repeated(8, doc.get("parameters"), _parameters_item)]
    if isinstance(doc.get("responses"), Mapping):
        out.append(_len(9, _responses(doc["responses"])))
    out += [_strings(10, doc.get("schemes")), _bool(11, doc.get("deprecated")),
            _repeated(12, doc.get("security"), _security_requirement), _extensions(13, doc)]
    return b"".join(out)


_METHODS = (("get", 2), ("put", 3), ("post", 4), ("delete", 5), ("options", 6), ("head", 7), ("patch", 8))


def path_item(doc: Doc) -> bytes:
    out = [_string(1, doc.get("$ref"))]
    for method, num in _METHODS:
        op = doc.get(method)
        if isinstance(op, Mapping):
            out.append(_len(num, operation(op)))
    out += [_repeated(9, doc.get("parameters"), _parameters_item), _extensions(10, doc)]
    return b"".join(out)


# --- security definitions -------------------------------------------------------------------------

def _security_scheme(doc: Doc) -> bytes:
    kind, flow = doc.get("type"), doc.get("flow")
    typ, desc = _string(1, kind), doc.get("description")
    if kind == "basic":
        return _len(1, typ + _string(2, desc) + _extensions(3, doc))
    if kind == "apiKey":
        return _len(2, typ + _string(2, doc.get("name")) + _string(3, doc.get("in")) + _string(4, desc)
                    + _extensions(5, doc))
    head = typ + _string(2, flow)
    if isinstance(doc.get("scopes"), Mapping):
        head += _len(3, _named(1, doc["scopes"], lambda v: str(v).encode()))
    if flow == "implicit":
        return _len(3, head + _string(4, doc.get("authorizationUrl")) + _string(5, desc) + _extensions(6, doc))
    if flow == "accessCode":
        return _len(6, head + _string(4, doc.get("authorizationUrl")) + _string(5, doc.get("tokenUrl"))
                    + _string(6, desc) + _extensions(7, doc))
    num = 5 if flow == "application" else 4
    return _len(num, head + _string(4, doc.get("tokenUrl")) + _string(5, desc) + _extensions(6, doc))


# --- the document ---------------------------------------------------------------------------------

def encode_document(doc: Doc) -> bytes:
    """The serialised ``openapi.v2.Document`` for a Swagger 2.0 document given as JSON-shaped dicts."""
    out = [_string(1, doc.get("swagger"))]
    if isinstance(doc.get("info"), Mapping):
        out.append(_len(2, _info(doc["info"])))
    out += [_string(3, doc.get("host")), _string(4, doc.get("basePath")), _strings(5, doc.get("schemes")),
            _strings(6, doc.get("consumes")), _strings(7, doc.get("produces"))]
    paths = doc.get("paths")
    if isinstance(paths, Mapping):
        out.append(_len(8, _extensions(1, paths) + _named(2, paths, path_item, skip_ext=True)))
    if isinstance(doc.get("definitions"), Mapping):
        out.append(_len(9, _named(1, doc["definitions"], schema)))
    if isinstance(doc.get("parameters"), Mapping):
        out.append(_len(10, _named(1, doc["parameters"], parameter)))
    if isinstance(doc.get("responses"), Mapping):
        out.append(_len(11, _named(1, doc["responses"], response)))
    out.append(_repeated(12, doc.get("security"), _security_requirement))
    if isinstance(doc.get("securityDefinitions"), Mapping):
        out.append(_len(13, _named(1, doc["securityDefinitions"], _security_scheme)))
    out += [_repeated(14, doc.get("tags"), _tag_object), _opt_external_docs(15, doc), _extensions(16, doc)]
    return b"".join(out)


__all__ = ["MEDIA_TYPE", "any_message", "encode_document", "operation", "parameter", "path_item", "response",
           "schema"]
