"""OpenAPI documents generated from the scheme and the schema registry.

kubectl needs three things from them (kubectl-api.md §4):

* field validation: each kind's ``patch`` operation, found by its
  ``x-kubernetes-group-version-kind``, carries an operation-level
  ``fieldValidation`` parameter, so kubectl leaves validation to the server;
* client-side apply: the ``patch`` operation's ``requestBody.content`` offers
  ``application/strategic-merge-patch+json`` and ``components.schemas`` carry
  ``x-kubernetes-patch-merge-key``/``-patch-strategy``;
* ``kubectl explain``: kind schemas tagged with their GVK, ``$ref`` (wrapped
  in ``allOf`` when a description accompanies it, as upstream does),
  ``description``, ``type`` and ``required``.

Documents are built on demand (kinds may be added at run time) and cached by
a fingerprint of the scheme and registry, so serving the v3 index, which
needs every group-version document's hash, stays cheap.  The v2 document is
also offered as gnostic's protobuf (``openapi_proto``), which kubectl asks for
when it validates a ``kind: List`` manifest on the client.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import orjson

from pyk8s.machinery import openapi_proto
from pyk8s.machinery.schema import (
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
from pyk8s.machinery.scheme import ResourceType, Scheme

Doc = dict[str, Any]

META = "io.k8s.apimachinery.pkg.apis.meta.v1."
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
TIME = META + "Time"
MICRO_TIME = META + "MicroTime"
PATCH = META + "Patch"
DELETE_OPTIONS = META + "DeleteOptions"
STATUS = META + "Status"
SCALE = "io.k8s.api.autoscaling.v1.Scale"
#: "" stands for the resource's own schema
SELF = ""
_CONNECT_METHODS = ("get", "post")
_PROXY_METHODS = ("get", "put", "post", "patch", "delete", "head", "options")
#: Subresources besides status and scale, as upstream documents them:
#: name -> ((method, op-id verb, body schema or None), ...), group/version/kind or None for the resource's, query
#: parameters (name, type) (connect ones have no body and get the "connect" action)
_SUBRESOURCES: dict[str, tuple[tuple[tuple[str, str, str | None], ...], tuple[str, str, str] | None,
                               tuple[tuple[str, str], ...]]] = {
    "binding": ((("post", "create", "io.k8s.api.core.v1.Binding"),), ("", "v1", "Binding"), ()),
    "eviction": ((("post", "create", "io.k8s.api.policy.v1.Eviction"),), ("policy", "v1", "Eviction"), ()),
    "token": ((("post", "create", "io.k8s.api.authentication.v1.TokenRequest"),),
              ("authentication.k8s.io", "v1", "TokenRequest"), ()),
    "finalize": ((("put", "replace", SELF),), None, ()),
    "ephemeralcontainers": ((("get", "read", None), ("put", "replace", SELF), ("patch", "patch", PATCH)), None, ()),
    "log": ((("get", "read", None),), None, (
        ("container", "string"), ("follow", "boolean"), ("insecureSkipTLSVerifyBackend", "boolean"),
        ("limitBytes", "integer"), ("previous", "boolean"), ("sinceSeconds", "integer"), ("tailLines", "integer"),
        ("timestamps", "boolean"))),
    "exec": (tuple((m, "connect", None) for m in _CONNECT_METHODS), ("", "v1", "PodExecOptions"), (
        ("command", "string"), ("container", "string"), ("stderr", "boolean"), ("stdin", "boolean"),
        ("stdout", "boolean"), ("tty", "boolean"))),
    "attach": (tuple((m, "connect", None) for m in _CONNECT_METHODS), ("", "v1", "PodAttachOptions"), (
        ("container", "string"), ("stderr", "boolean"), ("stdin", "boolean"), ("stdout", "boolean"),
        ("tty", "boolean"))),
    "portforward": (tuple((m, "connect", None) for m in _CONNECT_METHODS), ("", "v1", "PodPortForwardOptions"),
                    (("ports", "integer"),)),
    "proxy": (tuple((m, "connect", None) for m in _PROXY_METHODS), None, (("path", "string"),)),
}

PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json",
               "application/strategic-merge-patch+json", "application/apply-patch+yaml")
MEDIA_TYPES = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf")
VERSION = "v1.32.0"

# Built-in value types that have no ObjectSchema of their own.  In v3 the
# int-or-string and quantity types carry no top-level ``type`` (they accept two
# JSON types), which is also what makes ``kubectl explain`` print
# ``<IntOrString>``/``<Quantity>`` from the reference name; v2 spells them as strings.
_INT_OR_STRING_TEXT = ("A value that is either an integer or a string (for example a port number or a port name, "
                       "or a count or a percentage).")
_QUANTITY_TEXT = "A fixed-point amount of a resource, written like 100m, 1.5, 512Mi or 2Gi."
_SCALAR_COMPONENTS: dict[str, Doc] = {
    INT_OR_STRING: {"description": _INT_OR_STRING_TEXT, "format": "int-or-string",
                    "oneOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True},
    QUANTITY: {"description": _QUANTITY_TEXT, "oneOf": [{"type": "string"}, {"type": "number"}]},
    TIME: {"description": "A point in time in RFC 3339 form with second precision, always in UTC.",
           "type": "string", "format": "date-time"},
    MICRO_TIME: {"description": "A point in time in RFC 3339 form with microsecond precision.",
                 "type": "string", "format": "date-time"},
    PATCH: {"description": "The body of a PATCH request; its shape depends on the content type.", "type": "object"},
}
_SCALAR_COMPONENTS_V2: dict[str, Doc] = {
    **_SCALAR_COMPONENTS,
    INT_OR_STRING: {"description": _INT_OR_STRING_TEXT, "type": "string", "format": "int-or-string"},
    QUANTITY: {"description": _QUANTITY_TEXT, "type": "string"},
}


# --- schemas -------------------------------------------------------------------------------

class _Converter:
    def __init__(self, registry: SchemaRegistry, ref_prefix: str, v3: bool) -> None:
        self.registry = registry
        self.prefix = ref_prefix
        self.v3 = v3
        self.used: set[str] = set()

    def ref(self, name: str) -> Doc:
        self.used.add(name)
        return {"$ref": self.prefix + name}

    def with_description(self, body: Doc, description: str) -> Doc:
        if not description:
            return body
        if "$ref" in body:
            if self.v3:
                return {"allOf": [body], "description": description}
            return {**body, "description": description}
        return {"description": description, **body}

    def type_schema(self, t: SchemaType) -> Doc:
        if isinstance(t, Primitive):
            return {"type": t.type, "format": t.format} if t.format else {"type": t.type}
        if isinstance(t, IntOrString):
            return self.ref(INT_OR_STRING)
        if isinstance(t, Quantity):
            return self.ref(QUANTITY)
        if isinstance(t, Time):
            return self.ref(MICRO_TIME if t.micro else TIME)
        if isinstance(t, AnyValue):
            if t.embedded_object:
                return {"type": "object", "x-kubernetes-embedded-resource": True,
                        "x-kubernetes-preserve-unknown-fields": True}
            return {"x-kubernetes-preserve-unknown-fields": True} if self.v3 else {"type": "object"}
        if isinstance(t, Ref):
            return self.ref(t.name)
        if isinstance(t, ArrayOf):
            return {"type": "array", "items": self.item_schema(t.items)}
        if isinstance(t, MapOf):
            return {"type": "object", "additionalProperties": self.item_schema(t.values)}
        return {}

    def item_schema(self, t: SchemaType) -> Doc:
        body = self.type_schema(t)
        if self.v3 and "$ref" in body:
            return {"allOf": [body], "default": {}}
        return body

    def field_schema(self, f: Field) -> Doc:
        body = self.with_description(self.type_schema(f.type), f.description)
        if f.merge_key:
            body["x-kubernetes-patch-merge-key"] = f.merge_key
        if f.strategy:
            body["x-kubernetes-patch-strategy"] = f.strategy
        if f.list_type:
            body["x-kubernetes-list-type"] = f.list_type
        if f.list_map_keys:
            body["x-kubernetes-list-map-keys"] = list(f.list_map_keys)
        if f.map_type:
            body["x-kubernetes-map-type"] = f.map_type
        return body

    def object_schema(self, s: ObjectSchema) -> Doc:
        body: Doc = {"description": s.description, "type": "object"}
        if s.fields:
            body["properties"] = {f.name: self.field_schema(f) for f in s.fields}
        required = [f.name for f in s.fields if f.required]
        if required:
            body["required"] = required
        if s.gvk is not None:
            group, version, kind = s.gvk
            body["x-kubernetes-group-version-kind"] = [{"group": group, "kind": kind, "version": version}]
        if s.preserve_unknown_fields:
            body["x-kubernetes-preserve-unknown-fields"] = True
        return body

    def closure(self, roots: Iterable[str]) -> dict[str, Doc]:
        """Component schemas for ``roots`` and everything they reference, sorted by name."""
        scalars = _SCALAR_COMPONENTS if self.v3 else _SCALAR_COMPONENTS_V2
        out: dict[str, Doc] = {}
        pending = [r for r in roots]
        while pending:
            name = pending.pop()
            if name in out:
                continue
            schema = self.registry.get(name)
            if schema is not None:
                before = set(self.used)
                out[name] = self.object_schema(schema)
                pending.extend(self.used - before)
            elif name in scalars:
                out[name] = dict(scalars[name])
        for name in list(self.used):
            if name not in out and name in scalars:
                out[name] = dict(scalars[name])
        return dict(sorted(out.items()))


# --- paths -------------------------------------------------------------------------------------

def _camel_group(group: str) -> str:
    if not group:
        return "Core"
    parts = group.removesuffix(".k8s.io").replace("-", ".").split(".")
    return "".join(p[:1].upper() + p[1:] for p in parts)


def _tag(group: str, version: str) -> str:
    g = _camel_group(group)
    return f"{g[:1].lower() + g[1:]}_{version}"


def gv_key(group: str, version: str) -> str:
    """The v3 index key: ``api/v1`` or ``apis/<group>/<version>``."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _query(name: str, description: str, type_: str = "string", *, v3: bool) -> Doc:
    if v3:
        return {"name": name, "in": "query", "description": description, "schema": {"type": type_, "uniqueItems": True}}
    return {"name": name, "in": "query", "description": description, "type": type_, "uniqueItems": True}


def _path_param(name: str, description: str, *, v3: bool) -> Doc:
    if v3:
        return {"name": name, "in": "path", "description": description, "required": True,
                "schema": {"type": "string", "uniqueItems": True}}
    return {"name": name, "in": "path", "description": description, "required": True, "type": "string",
            "uniqueItems": True}


_WRITE_PARAMS = (
    ("dryRun", "When present, the request is validated and defaulted but not persisted. The only valid value "
               "is All."),
    ("fieldManager", "The name of the actor making the change, recorded in managedFields."),
    ("fieldValidation", "How to treat fields the schema does not know or that appear twice: Ignore, Warn "
                        "(default) or Strict."),
)
_LIST_PARAMS = (
    ("allowWatchBookmarks", "boolean", "Ask for BOOKMARK events during a watch."),
    ("continue", "string", "The continue token returned by a previous paged list."),
    ("fieldSelector", "string", "Restrict the returned objects by their fields."),
    ("labelSelector", "string", "Restrict the returned objects by their labels."),
    ("limit", "integer", "The maximum number of objects to return in one page."),
    ("resourceVersion", "string", "Which version of the collection to serve or to watch from."),
    ("resourceVersionMatch", "string", "How resourceVersion applies to a list: Exact or NotOlderThan."),
    ("sendInitialEvents", "boolean", "Start a watch with synthetic ADDED events for the current state."),
    ("timeoutSeconds", "integer", "How long a list or watch call may last."),
    ("watch", "boolean", "Stream changes instead of returning a list."),
)


class _PathBuilder:
    def __init__(self, conv: _Converter, v3: bool) -> None:
        self.conv = conv
        self.v3 = v3

    def op(self, action: str, rt: ResourceType, op_id: str, *, response: str | None, body: str | None = None,
           write: bool = False, patch: bool = False, list_params: bool = False,
           gvk: tuple[str, str, str] | None = None, query: tuple[tuple[str, str], ...] = ()) -> Doc:
        group, version, kind = gvk or (rt.group, rt.version, rt.kind)
        op: Doc = {
            "tags": [_tag(rt.group, rt.version)],
            "description": f"{action} {kind}",
            "operationId": op_id,
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": kind},
        }
        params: list[Doc] = [_query(n, n, t, v3=self.v3) for n, t in query]
        if write:
            params += [_query(n, d, v3=self.v3) for n, d in _WRITE_PARAMS]
        if patch:
            params.append(_query("force", "Take ownership of conflicting fields on an apply patch.", "boolean",
                                 v3=self.v3))
        if list_params:
            params += [_query(n, d, t, v3=self.v3) for n, t, d in _LIST_PARAMS]
        if params:
            op["parameters"] = params
        if body is not None:
            types: tuple[str, ...] = PATCH_TYPES if patch else ("*/*",)
            if patch and not getattr(rt.strategy, "strategic_merge", True):
                types = tuple(t for t in types if t != "application/strategic-merge-patch+json")
            schema = self.conv.ref(body)
            if self.v3:
                op["requestBody"] = {"content": {t: {"schema": schema} for t in types}, "required": True}
            else:
                op.setdefault("parameters", []).insert(0, {"name": "body", "in": "body", "required": True,
                                                           "schema": schema})
                op["consumes"] = list(types)
                op["produces"] = list(MEDIA_TYPES)
        responses: Doc = {"401": {"description": "Unauthorized"}}
        if response is not None:
            schema = self.conv.ref(response)
            ok = ({"description": "OK", "content": {m: {"schema": schema} for m in MEDIA_TYPES}} if self.v3
                  else {"description": "OK", "schema": schema})
            responses["200"] = ok
            if action in ("post", "put", "patch"):
                responses["201"] = {**ok, "description": "Created"}
        op["responses"] = responses
        return op

    def resource_paths(self, rt: ResourceType, prefix: str) -> dict[str, Doc]:
        g, v, kind = _camel_group(rt.group), rt.version[:1].upper() + rt.version[1:], rt.kind
        gv = f"{g}{v}"
        ns = "Namespaced" if rt.namespaced else ""
        base = f"{prefix}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else f"{prefix}/{rt.plural}"
        schema = rt.schema or ""
        list_schema = schema + "List" if schema and self.conv.registry.get(schema + "List") else schema
        verbs = set(rt.verbs)
        pretty = _query("pretty", "If 'true', the output is pretty printed.", v3=self.v3)
        ns_param = _path_param("namespace", "object name and auth scope, such as for teams and projects", v3=self.v3)
        name_param = _path_param("name", f"name of the {kind}", v3=self.v3)
        out: dict[str, Doc] = {}

        coll: Doc = {}
        if "list" in verbs:
            coll["get"] = self.op("list", rt, f"list{gv}{ns}{kind}", response=list_schema, list_params=True)
        if "create" in verbs:
            coll["post"] = self.op("post", rt, f"create{gv}{ns}{kind}", response=schema, body=schema, write=True)
        if "deletecollection" in verbs:
            coll["delete"] = self.op("deletecollection", rt, f"deletecollection{gv}{ns}{kind}", response=STATUS,
                                     body=DELETE_OPTIONS, list_params=True)
        if coll:
            coll["parameters"] = ([ns_param] if rt.namespaced else []) + [pretty]
            out[base] = coll

        item: Doc = {}
        if "get" in verbs:
            item["get"] = self.op("get", rt, f"read{gv}{ns}{kind}", response=schema)
        if "update" in verbs:
            item["put"] = self.op("put", rt, f"replace{gv}{ns}{kind}", response=schema, body=schema, write=True)
        if "patch" in verbs:
            item["patch"] = self.op("patch", rt, f"patch{gv}{ns}{kind}", response=schema, body=PATCH, write=True,
                                    patch=True)
        if "delete" in verbs:
            item["delete"] = self.op("delete", rt, f"delete{gv}{ns}{kind}", response=STATUS, body=DELETE_OPTIONS)
        if item:
            item["parameters"] = [name_param] + ([ns_param] if rt.namespaced else []) + [pretty]
            out[f"{base}/{{name}}"] = item

        if rt.namespaced and "list" in verbs:
            out[f"{prefix}/{rt.plural}"] = {
                "get": self.op("list", rt, f"list{gv}{kind}ForAllNamespaces", response=list_schema, list_params=True),
                "parameters": [pretty],
            }
        for sub in rt.subresources:
            if sub not in ("status", "scale"):
                continue
            sub_schema = schema if sub == "status" else SCALE
            if sub == "scale" and self.conv.registry.get(SCALE) is None:
                continue
            suffix = sub.capitalize()
            out[f"{base}/{{name}}/{sub}"] = {
                "get": self.op("get", rt, f"read{gv}{ns}{kind}{suffix}", response=sub_schema),
                "put": self.op("put", rt, f"replace{gv}{ns}{kind}{suffix}", response=sub_schema, body=sub_schema,
                               write=True),
                "patch": self.op("patch", rt, f"patch{gv}{ns}{kind}{suffix}", response=sub_schema, body=PATCH,
                                 write=True, patch=True),
                "parameters": [name_param] + ([ns_param] if rt.namespaced else []) + [pretty],
            }
        for sub in rt.subresources:
            if sub in _SUBRESOURCES:
                out.update(self.subresource_paths(rt, sub, base, gv, f"{ns}{kind}", [name_param] + (
                    [ns_param] if rt.namespaced else [])))
        return out

    def subresource_paths(self, rt: ResourceType, sub: str, base: str, gv: str, rest: str,
                          params: list[Doc]) -> dict[str, Doc]:
        """The paths of one subresource of ``_SUBRESOURCES`` (proxy also with a trailing ``{path}``).
        Operation ids as upstream's: ``create<gv><rest><Sub>``, ``connect<gv><Method><rest><Sub>``."""
        methods, gvk, query = _SUBRESOURCES[sub]
        schema = rt.schema or ""
        if sub == "proxy":
            gvk = ("", "v1", f"{rt.kind}ProxyOptions")
        item: Doc = {}
        for method, verb, body in methods:
            body = schema if body == SELF else body
            if body and body != PATCH and self.conv.registry.get(body) is None:
                return {}
            if verb == "connect":
                item[method] = self.op("connect", rt, f"connect{gv}{method.capitalize()}{rest}{sub.capitalize()}",
                                       response=None, gvk=gvk, query=query)
                continue
            response = None if sub == "log" else (schema if body in (None, PATCH) else body)
            item[method] = self.op(method, rt, f"{verb}{gv}{rest}{sub.capitalize()}", response=response, body=body,
                                   write=method != "get", patch=method == "patch", gvk=gvk, query=query)
        item["parameters"] = list(params)
        out = {f"{base}/{{name}}/{sub}": item}
        if sub == "proxy":
            with_path: Doc = {m: {**op, "operationId": op["operationId"] + "WithPath"} for m, op in item.items()
                              if m != "parameters"}
            with_path["parameters"] = [*params, _path_param("path", "path to the resource", v3=self.v3)]
            out[f"{base}/{{name}}/{sub}/{{path}}"] = with_path
        return out


# --- documents -------------------------------------------------------------------------------------

_CACHE: dict[tuple[Any, ...], tuple[bytes, str, Doc]] = {}


def _fingerprint(scheme: Scheme, registry: SchemaRegistry) -> tuple[Any, ...]:
    return (tuple(id(s) for s in registry.all()),
            tuple((rt.group, rt.version, rt.plural, id(rt)) for rt in scheme.all()))


def _build_v3(group: str, version: str, scheme: Scheme, registry: SchemaRegistry) -> Doc:
    conv = _Converter(registry, "#/components/schemas/", v3=True)
    builder = _PathBuilder(conv, v3=True)
    prefix = "/" + gv_key(group, version)
    paths: Doc = {}
    for rt in scheme.resources(group, version):
        paths.update(builder.resource_paths(rt, prefix))
    schemas = conv.closure(sorted(conv.used))
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": VERSION},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": schemas,
            "securitySchemes": {"BearerToken": {"type": "apiKey", "description": "Bearer Token authentication",
                                                "name": "authorization", "in": "header"}},
        },
    }


def _cached(key: tuple[Any, ...], build: Any) -> tuple[bytes, str, Doc]:
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    doc = build()
    body = orjson.dumps(doc)
    entry = (body, hashlib.sha512(body).hexdigest().upper(), doc)
    if len(_CACHE) > 256:
        _CACHE.clear()
    _CACHE[key] = entry
    return entry


def v3_document_bytes(group: str, version: str, scheme: Scheme, registry: SchemaRegistry) -> tuple[bytes, str]:
    """The serialised document and its hash (upper-case SHA-512 hex, as in the index URLs)."""
    body, digest, _ = _cached(("v3", group, version, _fingerprint(scheme, registry)),
                              lambda: _build_v3(group, version, scheme, registry))
    return body, digest


def v3_document(group: str, version: str, scheme: Scheme, registry: SchemaRegistry) -> Doc:
    """The OpenAPI v3 document of one group-version (treat as read-only: it is cached)."""
    return _cached(("v3", group, version, _fingerprint(scheme, registry)),
                   lambda: _build_v3(group, version, scheme, registry))[2]


def v3_index(scheme: Scheme, registry: SchemaRegistry) -> Doc:
    """``GET /openapi/v3``: each group-version with its hash-qualified URL."""
    paths: Doc = {}
    for group in scheme.groups():
        for version in scheme.versions(group):
            if not scheme.resources(group, version):
                continue
            _, digest = v3_document_bytes(group, version, scheme, registry)
            key = gv_key(group, version)
            paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}
    return {"paths": paths}


def find_v3(path: str, scheme: Scheme, registry: SchemaRegistry) -> tuple[bytes, str] | None:
    """Serve ``/openapi/v3/<path>`` (``api/v1`` or ``apis/<g>/<v>``): body and hash, or None if unknown."""
    parts = path.strip("/").split("/")
    if parts[:1] == ["api"] and len(parts) == 2:
        group, version = "", parts[1]
    elif parts[:1] == ["apis"] and len(parts) == 3:
        group, version = parts[1], parts[2]
    else:
        return None
    if not scheme.resources(group, version):
        return None
    return v3_document_bytes(group, version, scheme, registry)


def _build_v2(scheme: Scheme, registry: SchemaRegistry) -> Doc:
    conv = _Converter(registry, "#/definitions/", v3=False)
    builder = _PathBuilder(conv, v3=False)
    paths: Doc = {}
    for rt in scheme.all():
        paths.update(builder.resource_paths(rt, "/" + gv_key(rt.group, rt.version)))
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": VERSION},
        "paths": dict(sorted(paths.items())),
        "definitions": conv.closure(sorted(conv.used)),
        "securityDefinitions": {"BearerToken": {"type": "apiKey", "description": "Bearer Token authentication",
                                                "name": "authorization", "in": "header"}},
        "security": [{"BearerToken": []}],
    }


def v2_document_bytes(scheme: Scheme, registry: SchemaRegistry) -> tuple[bytes, str]:
    body, digest, _ = _cached(("v2", _fingerprint(scheme, registry)), lambda: _build_v2(scheme, registry))
    return body, digest


def v2_document_proto(scheme: Scheme, registry: SchemaRegistry) -> tuple[bytes, str]:
    """``GET /openapi/v2`` as gnostic's ``openapi.v2.Document`` protobuf, and the JSON form's hash.

    Encoding the whole document takes tens of milliseconds, so the bytes are cached
    under the same fingerprint as the JSON form.  The ETag is the JSON form's, as
    kube-apiserver does (the response varies by Accept).
    """
    key = ("v2pb", _fingerprint(scheme, registry))
    hit = _CACHE.get(key)
    if hit is None:
        _, digest, doc = _cached(("v2", key[1]), lambda: _build_v2(scheme, registry))
        hit = (openapi_proto.encode_document(doc), digest, doc)
        if len(_CACHE) > 256:
            _CACHE.clear()
        _CACHE[key] = hit
    return hit[0], hit[1]


def v2_document(scheme: Scheme, registry: SchemaRegistry) -> Doc:
    """``GET /openapi/v2`` (Swagger 2.0, JSON): every group in one document."""
    return _cached(("v2", _fingerprint(scheme, registry)), lambda: _build_v2(scheme, registry))[2]
