"""The gnostic ``openapi.v2.Document`` encoder, read back with the protobuf runtime.

The test builds its own descriptors for the gnostic messages (field numbers as in gnostic's
``openapiv2/OpenAPIv2.proto``), parses the encoder's output with them, so wire types and
field numbers are checked by an independent parser, and turns the messages back into the
Swagger JSON shape to compare with the document that was encoded.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from pyk8s.machinery import openapi, openapi_proto
from pyk8s.machinery.scheme import ResourceType, Scheme

# message -> "number name type[*]"; type is s(tring), b(ool), d(ouble), i(nt64) or a message name;
# a trailing * marks a repeated field.  "_ref" stands for "$ref".
_VALIDATIONS = ("type s; format s; items PrimitivesItems; collectionFormat s; default Any; maximum d; "
                "exclusiveMaximum b; minimum d; exclusiveMinimum b; maxLength i; minLength i; pattern s; "
                "maxItems i; minItems i; uniqueItems b; enum Any*; multipleOf d")


def _numbered(start: int, spec: str) -> str:
    return "; ".join(f"{start + i} {f.strip()}" for i, f in enumerate(spec.split(";")))


MESSAGES: dict[str, str] = {
    "Document": "1 swagger s; 2 info Info; 3 host s; 4 basePath s; 5 schemes s*; 6 consumes s*; 7 produces s*; "
                "8 paths Paths; 9 definitions Definitions; 10 parameters ParameterDefinitions; "
                "11 responses ResponseDefinitions; 12 security SecurityRequirement*; "
                "13 securityDefinitions SecurityDefinitions; 14 tags Tag*; 15 externalDocs ExternalDocs; "
                "16 vendor_extension NamedAny*",
    "Info": "1 title s; 2 version s; 3 description s; 4 termsOfService s; 5 contact Contact; 6 license License; "
            "7 vendor_extension NamedAny*",
    "Contact": "1 name s; 2 url s; 3 email s; 4 vendor_extension NamedAny*",
    "License": "1 name s; 2 url s; 3 vendor_extension NamedAny*",
    "ExternalDocs": "1 description s; 2 url s; 3 vendor_extension NamedAny*",
    "Tag": "1 name s; 2 description s; 3 externalDocs ExternalDocs; 4 vendor_extension NamedAny*",
    "Any": "2 yaml s",
    "NamedAny": "1 name s; 2 value Any",
    "Paths": "1 vendor_extension NamedAny*; 2 path NamedPathItem*",
    "NamedPathItem": "1 name s; 2 value PathItem",
    "PathItem": "1 _ref s; 2 get Operation; 3 put Operation; 4 post Operation; 5 delete Operation; "
                "6 options Operation; 7 head Operation; 8 patch Operation; 9 parameters ParametersItem*; "
                "10 vendor_extension NamedAny*",
    "Operation": "1 tags s*; 2 summary s; 3 description s; 4 externalDocs ExternalDocs; 5 operationId s; "
                 "6 produces s*; 7 consumes s*; 8 parameters ParametersItem*; 9 responses Responses; "
                 "10 schemes s*; 11 deprecated b; 12 security SecurityRequirement*; 13 vendor_extension NamedAny*",
    "ParametersItem": "1 parameter Parameter; 2 json_reference JsonReference",
    "JsonReference": "1 _ref s; 2 description s",
    "Parameter": "1 body_parameter BodyParameter; 2 non_body_parameter NonBodyParameter",
    "BodyParameter": "1 description s; 2 name s; 3 in s; 4 required b; 5 schema Schema; "
                     "6 vendor_extension NamedAny*",
    "NonBodyParameter": "1 header HeaderParameterSubSchema; 2 form_data FormDataParameterSubSchema; "
                        "3 query QueryParameterSubSchema; 4 path PathParameterSubSchema",
    "QueryParameterSubSchema": "1 required b; 2 in s; 3 description s; 4 name s; 5 allowEmptyValue b; "
                               + _numbered(6, _VALIDATIONS) + "; 23 vendor_extension NamedAny*",
    "FormDataParameterSubSchema": "1 required b; 2 in s; 3 description s; 4 name s; 5 allowEmptyValue b; "
                                  + _numbered(6, _VALIDATIONS) + "; 23 vendor_extension NamedAny*",
    "PathParameterSubSchema": "1 required b; 2 in s; 3 description s; 4 name s; "
                              + _numbered(5, _VALIDATIONS) + "; 22 vendor_extension NamedAny*",
    "HeaderParameterSubSchema": "1 required b; 2 in s; 3 description s; 4 name s; "
                                + _numbered(5, _VALIDATIONS) + "; 22 vendor_extension NamedAny*",
    "PrimitivesItems": _numbered(1, _VALIDATIONS) + "; 18 vendor_extension NamedAny*",
    "Header": _numbered(1, _VALIDATIONS) + "; 18 description s; 19 vendor_extension NamedAny*",
    "Responses": "1 response_code NamedResponseValue*; 2 vendor_extension NamedAny*",
    "NamedResponseValue": "1 name s; 2 value ResponseValue",
    "ResponseValue": "1 response Response; 2 json_reference JsonReference",
    "Response": "1 description s; 2 schema SchemaItem; 3 headers Headers; 4 examples Examples; "
                "5 vendor_extension NamedAny*",
    "SchemaItem": "1 schema Schema; 2 file_schema FileSchema",
    "FileSchema": "1 format s; 2 title s; 3 description s; 4 default Any; 5 required s*; 6 type s; "
                  "7 readOnly b; 8 externalDocs ExternalDocs; 9 example Any; 10 vendor_extension NamedAny*",
    "Headers": "1 additional_properties NamedHeader*",
    "NamedHeader": "1 name s; 2 value Header",
    "Examples": "1 additional_properties NamedAny*",
    "Schema": "1 _ref s; 2 format s; 3 title s; 4 description s; 5 default Any; 6 multipleOf d; 7 maximum d; "
              "8 exclusiveMaximum b; 9 minimum d; 10 exclusiveMinimum b; 11 maxLength i; 12 minLength i; "
              "13 pattern s; 14 maxItems i; 15 minItems i; 16 uniqueItems b; 17 maxProperties i; "
              "18 minProperties i; 19 required s*; 20 enum Any*; 21 additionalProperties AdditionalPropertiesItem; "
              "22 type TypeItem; 23 items ItemsItem; 24 allOf Schema*; 25 properties Properties; "
              "26 discriminator s; 27 readOnly b; 28 xml Xml; 29 externalDocs ExternalDocs; 30 example Any; "
              "31 vendor_extension NamedAny*",
    "AdditionalPropertiesItem": "1 schema Schema; 2 boolean b",
    "TypeItem": "1 value s*",
    "ItemsItem": "1 schema Schema*",
    "Properties": "1 additional_properties NamedSchema*",
    "Definitions": "1 additional_properties NamedSchema*",
    "NamedSchema": "1 name s; 2 value Schema",
    "Xml": "1 name s; 2 namespace s; 3 prefix s; 4 attribute b; 5 wrapped b; 6 vendor_extension NamedAny*",
    "ParameterDefinitions": "1 additional_properties NamedParameter*",
    "NamedParameter": "1 name s; 2 value Parameter",
    "ResponseDefinitions": "1 additional_properties NamedResponse*",
    "NamedResponse": "1 name s; 2 value Response",
    "SecurityRequirement": "1 additional_properties NamedStringArray*",
    "NamedStringArray": "1 name s; 2 value StringArray",
    "StringArray": "1 value s*",
    "SecurityDefinitions": "1 additional_properties NamedSecurityDefinitionsItem*",
    "NamedSecurityDefinitionsItem": "1 name s; 2 value SecurityDefinitionsItem",
    "SecurityDefinitionsItem": "1 basic BasicAuthenticationSecurity; 2 api_key ApiKeySecurity; "
                               "3 implicit Oauth2ImplicitSecurity; 4 password Oauth2PasswordSecurity; "
                               "5 application Oauth2ApplicationSecurity; 6 access_code Oauth2AccessCodeSecurity",
    "BasicAuthenticationSecurity": "1 type s; 2 description s; 3 vendor_extension NamedAny*",
    "ApiKeySecurity": "1 type s; 2 name s; 3 in s; 4 description s; 5 vendor_extension NamedAny*",
    "Oauth2ImplicitSecurity": "1 type s; 2 flow s; 3 scopes Oauth2Scopes; 4 authorizationUrl s; "
                              "5 description s; 6 vendor_extension NamedAny*",
    "Oauth2PasswordSecurity": "1 type s; 2 flow s; 3 scopes Oauth2Scopes; 4 tokenUrl s; 5 description s; "
                              "6 vendor_extension NamedAny*",
    "Oauth2ApplicationSecurity": "1 type s; 2 flow s; 3 scopes Oauth2Scopes; 4 tokenUrl s; 5 description s; "
                                 "6 vendor_extension NamedAny*",
    "Oauth2AccessCodeSecurity": "1 type s; 2 flow s; 3 scopes Oauth2Scopes; 4 authorizationUrl s; "
                                "5 tokenUrl s; 6 description s; 7 vendor_extension NamedAny*",
    "Oauth2Scopes": "1 additional_properties NamedString*",
    "NamedString": "1 name s; 2 value s",
}

# The oneof wrappers: each holds exactly one of its fields.
ONEOFS = {"ParametersItem", "Parameter", "NonBodyParameter", "ResponseValue", "SchemaItem",
          "SecurityDefinitionsItem", "AdditionalPropertiesItem"}
MAPS = {"additional_properties", "path", "response_code"}
_SCALARS = {"s": descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
            "b": descriptor_pb2.FieldDescriptorProto.TYPE_BOOL,
            "d": descriptor_pb2.FieldDescriptorProto.TYPE_DOUBLE,
            "i": descriptor_pb2.FieldDescriptorProto.TYPE_INT64}


def _build_classes() -> dict[str, Any]:
    fd = descriptor_pb2.FileDescriptorProto(name="test_gnostic_v2.proto", package="testgnostic", syntax="proto2")
    for name, spec in MESSAGES.items():
        msg = fd.message_type.add(name=name)
        if name in ONEOFS:
            msg.oneof_decl.add(name="oneof")
        for part in spec.split(";"):
            num, fname, ftype = part.split()
            repeated = ftype.endswith("*")
            ftype = ftype.rstrip("*")
            field = msg.field.add(name=fname, number=int(num))
            field.label = (descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED if repeated
                           else descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
            if ftype in _SCALARS:
                field.type = _SCALARS[ftype]
            else:
                assert ftype in MESSAGES, ftype
                field.type = descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE
                field.type_name = f".testgnostic.{ftype}"
            if name in ONEOFS:
                field.oneof_index = 0
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"testgnostic.{name}"))
            for name in MESSAGES}


CLASSES = _build_classes()


def parse(name: str, data: bytes) -> Any:
    msg = CLASSES[name]()
    msg.ParseFromString(data)
    return msg


def to_json(msg: Any) -> Any:
    """A parsed gnostic message back in the Swagger JSON shape."""
    kind = msg.DESCRIPTOR.name
    fields = msg.ListFields()
    if kind in ONEOFS:
        assert len(fields) == 1, (kind, fields)
        value = fields[0][1]
        return value if isinstance(value, bool) else to_json(value)
    if kind == "Any":
        return yaml.safe_load(msg.yaml)
    if kind in ("TypeItem", "StringArray"):
        values = list(msg.value)
        return values[0] if kind == "TypeItem" and len(values) == 1 else values
    if kind == "ItemsItem":
        return to_json(msg.schema[0]) if len(msg.schema) == 1 else [to_json(s) for s in msg.schema]
    out: dict[str, Any] = {}
    for field, value in fields:
        if field.name == "vendor_extension":
            out.update((na.name, to_json(na.value)) for na in value)
        elif field.name in MAPS:
            out.update((entry.name, entry.value if isinstance(entry.value, str) else to_json(entry.value))
                       for entry in value)
        elif field.type == field.TYPE_MESSAGE:
            is_list = field.is_repeated
            out[field.name.replace("_ref", "$ref")] = [to_json(v) for v in value] if is_list else to_json(value)
        else:
            out[field.name.replace("_ref", "$ref")] = list(value) if field.is_repeated else value
    return out


# --- tests ---------------------------------------------------------------------------------------

@pytest.fixture
def scheme() -> Scheme:
    s = Scheme()
    s.add(ResourceType("apps", "v1", "Deployment", "deployments", "deployment", True, schema="io.test.Deployment",
                       subresources=("status", "scale")))
    s.add(ResourceType("x", "v1", "Free", "frees", "free", False, schema="io.test.Free",
                       verbs=("get", "list", "create")))
    return s


def test_document_round_trips(scheme, registry):
    doc = openapi.v2_document(scheme, registry)
    back = to_json(parse("Document", openapi_proto.encode_document(doc)))
    assert back == doc
    # The parts kubectl reads, spelled out.
    spec = back["definitions"]["io.test.DeploymentSpec"]
    assert spec["required"] == ["selector", "template"]
    assert spec["properties"]["selector"] == {"$ref": "#/definitions/io.test.LabelSelector"}
    pod = back["definitions"]["io.test.PodSpec"]["properties"]["containers"]
    assert pod["items"] == {"$ref": "#/definitions/io.test.Container"}
    assert pod["x-kubernetes-patch-merge-key"] == "name"
    assert back["definitions"]["io.test.Deployment"]["x-kubernetes-group-version-kind"] == [
        {"group": "apps", "kind": "Deployment", "version": "v1"}]


def test_wire_shapes_of_the_oneofs_and_maps():
    raw = parse("Document", openapi_proto.encode_document({
        "swagger": "2.0",
        "info": {"title": "T", "version": "v9", "x-note": "n"},
        "paths": {
            "/a/{name}": {
                "parameters": [{"name": "name", "in": "path", "required": True, "type": "string"},
                               {"$ref": "#/parameters/pretty"}],
                "get": {"operationId": "getA", "deprecated": True,
                        "parameters": [{"name": "limit", "in": "query", "type": "integer", "maximum": 5,
                                        "enum": [1, 2]},
                                       {"name": "X-Trace", "in": "header", "type": "string"},
                                       {"name": "f", "in": "formData", "type": "file"},
                                       {"name": "body", "in": "body", "schema": {"type": "object"}}],
                        "responses": {"200": {"description": "OK", "schema": {"type": "array",
                                                                             "items": {"type": "string"}},
                                              "headers": {"X-Rate": {"type": "integer", "format": "int32"}}},
                                      "404": {"$ref": "#/responses/missing"},
                                      "x-code": 7}},
            },
            "x-paths": True,
        },
        "definitions": {"M": {"type": "object", "additionalProperties": False, "minProperties": 1,
                              "default": {"a": 1}},
                        "N": {"type": ["string", "null"], "items": [{"type": "string"}, {"type": "integer"}]}},
        "parameters": {"pretty": {"name": "pretty", "in": "query", "type": "string"}},
        "responses": {"missing": {"description": "gone"}},
        "securityDefinitions": {"basic": {"type": "basic"},
                                "oauth": {"type": "oauth2", "flow": "accessCode", "scopes": {"read": "r"},
                                          "authorizationUrl": "https://a", "tokenUrl": "https://t"}},
        "tags": [{"name": "t"}],
    }))
    op = raw.paths.path[0].value.get
    assert op.deprecated and op.operationId == "getA"
    query = op.parameters[0].parameter.non_body_parameter.query
    assert (query.name, query.type, query.maximum, [a.yaml for a in query.enum]) == ("limit", "integer", 5.0,
                                                                                     ["1\n", "2\n"])
    assert op.parameters[1].parameter.non_body_parameter.header.name == "X-Trace"
    assert op.parameters[2].parameter.non_body_parameter.form_data.type == "file"
    assert op.parameters[3].parameter.body_parameter.schema.type.value == ["object"]
    item = raw.paths.path[0].value
    assert item.parameters[0].parameter.non_body_parameter.path.required
    assert item.parameters[1].json_reference._ref == "#/parameters/pretty"
    codes = {c.name: c.value for c in op.responses.response_code}
    assert codes["200"].response.schema.schema.items.schema[0].type.value == ["string"]
    assert codes["404"].json_reference._ref == "#/responses/missing"
    m = raw.definitions.additional_properties[0].value
    assert m.additionalProperties.HasField("boolean") and m.additionalProperties.boolean is False
    n = raw.definitions.additional_properties[1].value
    assert list(n.type.value) == ["string", "null"] and len(n.items.schema) == 2
    sec = {d.name: d.value for d in raw.securityDefinitions.additional_properties}
    assert sec["basic"].HasField("basic")
    assert sec["oauth"].access_code.scopes.additional_properties[0].value == "r"
    back = to_json(raw)
    assert back["paths"]["x-paths"] is True and back["info"]["x-note"] == "n"
    assert back["paths"]["/a/{name}"]["get"]["responses"]["x-code"] == 7
    assert back["definitions"]["M"]["default"] == {"a": 1}


def test_vendor_extension_values_are_yaml():
    raw = parse("Schema", openapi_proto.schema({
        "type": "object",
        "x-kubernetes-group-version-kind": [{"group": "", "kind": "Pod", "version": "v1"}],
        "x-kubernetes-list-map-keys": ["containerPort", "protocol"],
        "x-kubernetes-preserve-unknown-fields": True,
        "x-kubernetes-patch-strategy": "merge,retainKeys",
        "x-text": 'quote " and colon: and unicode é',
    }))
    ext = {na.name: yaml.safe_load(na.value.yaml) for na in raw.vendor_extension}
    assert ext == {"x-kubernetes-group-version-kind": [{"group": "", "kind": "Pod", "version": "v1"}],
                   "x-kubernetes-list-map-keys": ["containerPort", "protocol"],
                   "x-kubernetes-preserve-unknown-fields": True,
                   "x-kubernetes-patch-strategy": "merge,retainKeys",
                   "x-text": 'quote " and colon: and unicode é'}


def test_full_builtin_document_round_trips_and_is_cached():
    import pyk8s.api  # noqa: F401  (registers every built-in kind)
    from pyk8s.machinery.schema import REGISTRY
    from pyk8s.machinery.scheme import SCHEME

    doc = openapi.v2_document(SCHEME, REGISTRY)
    body, digest = openapi.v2_document_proto(SCHEME, REGISTRY)
    assert to_json(parse("Document", body)) == doc
    assert digest == openapi.v2_document_bytes(SCHEME, REGISTRY)[1]
    assert openapi.v2_document_proto(SCHEME, REGISTRY)[0] is body
