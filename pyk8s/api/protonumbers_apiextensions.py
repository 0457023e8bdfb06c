"""Protobuf field numbers of apiextensions.k8s.io/v1 (CustomResourceDefinition), from its ``generated.proto``.

The conformance framework's apiextensions client sends CRDs as protobuf.  The CRD's JSON
schemas (served by the API server's apiextensions package) hold ``openAPIV3Schema``,
``subresources.status``/``scale`` and ``conversion.webhook`` as free-form values; in
protobuf they are messages, so they are decoded here with proto-only schemas and turned
into their JSON form (``JSONSchemaPropsOrBool`` is a bool or a schema, ``...OrArray`` a
schema or a list, ``JSON`` a raw value).

Importing this module registers the tables (``pyk8s.api.protonumbers`` imports it).
"""

from __future__ import annotations

from typing import Any

from pyk8s.api.protonumbers_core import parse_table
from pyk8s.machinery.protobuf import register_messages, register_numbers
from pyk8s.machinery.schema import (
    BOOL,
    BYTES,
    DOUBLE,
    INT32,
    INT64,
    STRING,
    STRING_LIST,
    AnyValue,
    ArrayOf,
    Field,
    MapOf,
    ObjectSchema,
    Ref,
)

AX = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1."
PB = "protobuf.apiextensions.v1."  # proto-only schemas: never served, only used to decode

_TABLE = """
CustomResourceDefinition metadata=1 spec=2 status=3
CustomResourceDefinitionSpec group=1 names=3 scope=4 versions=7 conversion=9 preserveUnknownFields=10
CustomResourceDefinitionNames plural=1 singular=2 shortNames=3 kind=4 listKind=5 categories=6
CustomResourceDefinitionVersion name=1 served=2 storage=3 deprecated=7 deprecationWarning=8 schema=4 subresources=5 additionalPrinterColumns=6 selectableFields=9
CustomResourceValidation openAPIV3Schema=1
CustomResourceSubresources status=1 scale=2
CustomResourceColumnDefinition name=1 type=2 format=3 description=4 priority=5 jsonPath=6
CustomResourceConversion strategy=1 webhook=2
CustomResourceDefinitionCondition type=1 status=2 lastTransitionTime=3 reason=4 message=5
CustomResourceDefinitionStatus conditions=1 acceptedNames=2 storedVersions=3
SelectableField jsonPath=1
"""

_SCHEMA = Ref(PB + "JSONSchemaProps")
_SCHEMAS = ArrayOf(_SCHEMA)


def _f(name: str, t: Any, num: int) -> Field:
    return Field(name, t, proto=num)


_PROTO_ONLY = [
    ObjectSchema(PB + "JSONSchemaProps", "", [
        _f("id", STRING, 1), _f("$schema", STRING, 2), _f("$ref", STRING, 3), _f("description", STRING, 4),
        _f("type", STRING, 5), _f("format", STRING, 6), _f("title", STRING, 7), _f("default", AnyValue(), 8),
        _f("maximum", DOUBLE, 9), _f("exclusiveMaximum", BOOL, 10), _f("minimum", DOUBLE, 11),
        _f("exclusiveMinimum", BOOL, 12), _f("maxLength", INT64, 13), _f("minLength", INT64, 14),
        _f("pattern", STRING, 15), _f("maxItems", INT64, 16), _f("minItems", INT64, 17),
        _f("uniqueItems", BOOL, 18), _f("multipleOf", DOUBLE, 19), _f("enum", ArrayOf(AnyValue()), 20),
        _f("maxProperties", INT64, 21), _f("minProperties", INT64, 22), _f("required", STRING_LIST, 23),
        _f("items", Ref(PB + "JSONSchemaPropsOrArray"), 24), _f("allOf", _SCHEMAS, 25), _f("oneOf", _SCHEMAS, 26),
        _f("anyOf", _SCHEMAS, 27), _f("not", _SCHEMA, 28), _f("properties", MapOf(_SCHEMA), 29),
        _f("additionalProperties", Ref(PB + "JSONSchemaPropsOrBool"), 30),
        _f("patternProperties", MapOf(_SCHEMA), 31),
        _f("dependencies", MapOf(Ref(PB + "JSONSchemaPropsOrStringArray")), 32),
        _f("additionalItems", Ref(PB + "JSONSchemaPropsOrBool"), 33), _f("definitions", MapOf(_SCHEMA), 34),
        _f("externalDocs", Ref(PB + "ExternalDocumentation"), 35), _f("example", AnyValue(), 36),
        _f("nullable", BOOL, 37), _f("x-kubernetes-preserve-unknown-fields", BOOL, 38),
        _f("x-kubernetes-embedded-resource", BOOL, 39), _f("x-kubernetes-int-or-string", BOOL, 40),
        _f("x-kubernetes-list-map-keys", STRING_LIST, 41), _f("x-kubernetes-list-type", STRING, 42),
        _f("x-kubernetes-map-type", STRING, 43), _f("x-kubernetes-validations", ArrayOf(Ref(PB + "ValidationRule")), 44),
    ]),
    ObjectSchema(PB + "JSONSchemaPropsOrArray", "", [_f("schema", _SCHEMA, 1), _f("jSONSchemas", _SCHEMAS, 2)]),
    ObjectSchema(PB + "JSONSchemaPropsOrBool", "", [_f("allows", BOOL, 1), _f("schema", _SCHEMA, 2)]),
    ObjectSchema(PB + "JSONSchemaPropsOrStringArray", "", [_f("schema", _SCHEMA, 1), _f("property", STRING_LIST, 2)]),
    ObjectSchema(PB + "ExternalDocumentation", "", [_f("description", STRING, 1), _f("url", STRING, 2)]),
    ObjectSchema(PB + "ValidationRule", "", [
        _f("rule", STRING, 1), _f("message", STRING, 2), _f("messageExpression", STRING, 3), _f("reason", STRING, 4),
        _f("fieldPath", STRING, 5), _f("optionalOldSelf", BOOL, 6)]),
    ObjectSchema(PB + "CustomResourceSubresourceStatus", "", []),
    ObjectSchema(PB + "CustomResourceSubresourceScale", "", [
        _f("specReplicasPath", STRING, 1), _f("statusReplicasPath", STRING, 2), _f("labelSelectorPath", STRING, 3)]),
    ObjectSchema(PB + "WebhookConversion", "", [
        _f("clientConfig", Ref(PB + "WebhookClientConfig"), 2), _f("conversionReviewVersions", STRING_LIST, 3)]),
    ObjectSchema(PB + "WebhookClientConfig", "", [
        _f("url", STRING, 3), _f("service", Ref(PB + "ServiceReference"), 1), _f("caBundle", BYTES, 2)]),
    ObjectSchema(PB + "ServiceReference", "", [
        _f("namespace", STRING, 1), _f("name", STRING, 2), _f("path", STRING, 3), _f("port", INT32, 4)]),
]


def _schema_or_array(d: dict[str, Any]) -> Any:
    return d["schema"] if "schema" in d else d.get("jSONSchemas", [])


def _schema_or_bool(d: dict[str, Any]) -> Any:
    return d["schema"] if "schema" in d else bool(d.get("allows"))


def _schema_or_strings(d: dict[str, Any]) -> Any:
    return d["schema"] if "schema" in d else d.get("property", [])


register_numbers(parse_table(AX, _TABLE))
register_messages(
    {(AX + "CustomResourceValidation", "openAPIV3Schema"): PB + "JSONSchemaProps",
     (AX + "CustomResourceSubresources", "status"): PB + "CustomResourceSubresourceStatus",
     (AX + "CustomResourceSubresources", "scale"): PB + "CustomResourceSubresourceScale",
     (AX + "CustomResourceConversion", "webhook"): PB + "WebhookConversion"},
    _PROTO_ONLY,
    {PB + "JSONSchemaPropsOrArray": _schema_or_array, PB + "JSONSchemaPropsOrBool": _schema_or_bool,
     PB + "JSONSchemaPropsOrStringArray": _schema_or_strings},
)
