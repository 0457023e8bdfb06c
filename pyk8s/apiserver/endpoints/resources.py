"""The resource handlers: one request on ``/api/v1/...`` or ``/apis/g/v/...``.

``ResourceHandler.handle`` resolves the path against the scheme, picks the
verb from the method and path shape, decodes the body and query into the
registry's option objects (``registry/rest.py``), calls the store and writes
the answer (JSON, or a Table when the Accept header asks for one).

Verb mapping, as in Kubernetes:

=======  ===================  =========================================
method   collection           named object (or subresource)
=======  ===================  =========================================
GET      list / watch         get
POST     create               create on a subresource (binding, eviction, token)
PUT      405                  update (created -> 201)
PATCH    405                  patch (apply that creates -> 201)
DELETE   deletecollection     delete
=======  ===================  =========================================

Subresources other than ``status`` are in ``subresources.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from aiohttp import web

from pyk8s.apiserver.endpoints import negotiation, params, subresources, tables
from pyk8s.apiserver.endpoints.objects import check_name, check_namespace, check_type
from pyk8s.apiserver.endpoints.paths import ResourcePath
from pyk8s.apiserver.endpoints.responses import (
    is_pretty,
    json_bytes_response,
    json_response,
    table_content_type,
    warning_texts,
    warning_value,
)
from pyk8s.apiserver.endpoints.watch import TableEncoder, serve_watch
from pyk8s.apiserver.filters.authn import USER_KEY, TokenSigner, UserInfo
from pyk8s.apiserver.kubeletclient import KubeletClient
from pyk8s.apiserver.registry.rest import RESTStorage, WriteOptions
from pyk8s.machinery import fieldcheck, typecheck
from pyk8s.machinery.errors import (
    StatusError,
    bad_request,
    method_not_allowed,
    resource_not_found_for_path,
    unsupported_media_type,
)
from pyk8s.machinery.scheme import ResourceType, Scheme

Obj = dict[str, Any]


class Registry(Protocol):
    """What the HTTP layer needs from ``pyk8s.apiserver.registry``."""

    def storage_for(self, rt: ResourceType) -> RESTStorage: ...


def _user(request: web.Request) -> str:
    user: UserInfo | None = request.get(USER_KEY)
    return user.username if user else ""


class ResourceHandler:
    def __init__(self, scheme: Scheme, registry: Registry | None, *, max_body: int,
                 token_signer: TokenSigner | None = None, kubelets: KubeletClient | None = None) -> None:
        self.scheme = scheme
        self.registry = registry
        self.max_body = max_body
        self.token_signer = token_signer
        self.kubelets = kubelets  # how pods/log reaches nodes; None: no kubelet connections

    # --- resolution ----------------------------------------------------------

    def resolve(self, rp: ResourcePath, path: str) -> ResourceType:
        rt = self.scheme.get(rp.group, rp.version, rp.plural)
        if rt is None:
            raise resource_not_found_for_path(path)
        if rp.namespaced_form and not rt.namespaced:
            raise resource_not_found_for_path(path)
        if rt.namespaced and rp.name and not rp.namespaced_form:
            raise resource_not_found_for_path(path)
        if rp.subresource and rp.subresource not in rt.subresources:
            raise resource_not_found_for_path(path)
        return rt

    def storage(self, rt: ResourceType) -> RESTStorage:
        try:
            store = self.registry.storage_for(rt) if self.registry is not None else None
        except KeyError:
            raise resource_not_found_for_path(rt.qualified) from None
        if store is None:
            raise StatusError(503, "ServiceUnavailable", f"the storage for {rt.qualified} is not available")
        return store

    async def handle(self, request: web.Request, rp: ResourcePath) -> web.StreamResponse:
        rt = self.resolve(rp, request.path)
        if rp.subresource == "proxy" and rp.name:  # every method goes to the backend (HEAD, OPTIONS too)
            return await subresources.handle(self, request, rp, rt)
        verb = _VERBS.get((request.method, bool(rp.name)))
        if verb is None:
            raise method_not_allowed()
        if rp.subresource and rp.subresource != "status":
            return await subresources.handle(self, request, rp, rt)
        if rp.subresource == "status" and verb not in ("get", "update", "patch"):
            raise method_not_allowed()
        if (verb == "create" and rp.name) or (rp.watch and (verb not in ("list", "get") or rp.subresource)):
            raise method_not_allowed()
        if rt.namespaced and not rp.namespaced_form and verb in ("create", "deletecollection"):
            raise method_not_allowed()
        if verb != "list" and not rp.subresource and verb not in rt.verbs:
            raise method_not_allowed()
        if verb == "create" and rt.kind == "Binding" and rt.group == "":
            body = await self.read_typed(request, subresources.BINDING_SCHEMA, "Binding", "v1")
            check_type(body, "v1", "Binding")
            name = (body.get("metadata") or {}).get("name", "")
            if not name:
                raise bad_request("metadata.name: Required value: name is required for a binding")
            return await subresources.bind_named(self, rp.namespace, name, body, self.write_options(request))
        resp: web.StreamResponse = await getattr(self, verb)(request, rp, rt)
        deprecated = getattr(rt.strategy, "request_warnings", ())  # a deprecated CRD version: on every answer
        if deprecated and not resp.prepared:
            for text in warning_texts(deprecated):
                resp.headers.add("Warning", warning_value(text))
        return resp

    # --- reads ---------------------------------------------------------------

    async def get(self, request: web.Request, rp: ResourcePath, rt: ResourceType) -> web.StreamResponse:
        if (rp.watch or params.is_watch(request.query)) and not rp.subresource:
            return await self.watch(request, rp, rt)
        store = self.storage(rt)
        get_json = getattr(store, "get_json", None)
        if (get_json is not None and not rp.subresource and not is_pretty(request)
                and not negotiation.table_version(request.headers.get("Accept", ""))):
            body = await get_json(rp.namespace, rp.name)  # stored JSON is not decoded to be encoded again
            if body is not None:
                return json_bytes_response(body)
        obj = await store.get(rp.namespace, rp.name, resource_version=request.query.get("resourceVersion", ""))
        return self.object_response(request, rt, obj)

    async def list(self, request: web.Request, rp: ResourcePath, rt: ResourceType) -> web.StreamResponse:
        query = request.query
        if rp.watch or params.is_watch(query):
            if "watch" not in rt.verbs:
                raise method_not_allowed()
            return await self.watch(request, rp, rt)
        if "list" not in rt.verbs:
            raise method_not_allowed()
        store = self.storage(rt)
        opts = params.list_options(query)
        version = negotiation.table_version(request.headers.get("Accept", ""))
        list_json = getattr(store, "list_json", None)
        if not version and list_json is not None and not is_pretty(request):
            body = await list_json(rp.namespace, opts)  # each object's encoding shared, not redone
            if body is not None:
                return json_bytes_response(body)
        lst = await store.list(rp.namespace, opts)
        if version:
            table = tables.list_table(rt, lst, include=tables.include_object(query), version=version)
            return json_response(table, content_type=table_content_type(version), pretty=is_pretty(request))
        return json_response(lst, pretty=is_pretty(request))

    async def watch(self, request: web.Request, rp: ResourcePath, rt: ResourceType) -> web.StreamResponse:
        opts = params.watch_options(request.query)
        if rp.name:  # the deprecated watch of one object: a field selector on its name
            by_name = f"metadata.name={rp.name}"
            opts.field_selector = f"{opts.field_selector},{by_name}" if opts.field_selector else by_name
        version = negotiation.table_version(request.headers.get("Accept", ""))
        encoder = TableEncoder(rt, tables.include_object(request.query), version) if version else None
        events = self.storage(rt).watch(rp.namespace, opts)
        ctype = table_content_type(version) if version else "application/json"
        return await serve_watch(request, events, duration=opts.timeout_seconds or params.MIN_REQUEST_TIMEOUT,
                                 content_type=ctype, table=encoder)

    def object_response(self, request: web.Request, rt: ResourceType, obj: Obj, *, status: int = 200,
                        warnings: Iterable[str] | None = None) -> web.Response:
        version = negotiation.table_version(request.headers.get("Accept", ""))
        if version and request.method == "GET":
            table = tables.object_table(rt, obj, include=tables.include_object(request.query), version=version)
            return json_response(table, content_type=table_content_type(version), pretty=is_pretty(request))
        return json_response(obj, status=status, warnings=warnings or (), pretty=is_pretty(request))

    # --- writes --------------------------------------------------------------

    async def read_object(self, request: web.Request) -> tuple[Obj, bytes]:
        body = await negotiation.read_body(request, self.max_body)
        return negotiation.decode_object(negotiation.media_type(request), body), body

    def check_fields(self, request: web.Request, rt: ResourceType, obj: Obj, raw: bytes, opts: WriteOptions) -> None:
        """fieldValidation for a whole-object body: Strict -> 400, Warn -> Warning headers;
        then unknown fields are dropped, as upstream's decoder does.

        Done here because only this layer has the raw body (duplicate keys vanish
        once decoded); patches are checked by the store on the patched result.
        """
        if not rt.schema:
            return
        if opts.field_validation != "Ignore":
            ctype = negotiation.media_type(request)
            json_body = ctype in ("", negotiation.JSON) or ctype.endswith("+json")
            try:
                opts.warnings.extend(fieldcheck.check(obj, rt.schema, opts.field_validation,
                                                      raw=raw if json_body else None))
            except StatusError as exc:
                raise _cannot_handle(rt, exc) from None
        fieldcheck.prune_unknown_fields(obj, rt.schema)

    @staticmethod
    def check_types(rt: ResourceType, obj: Obj) -> None:
        """The decode errors upstream's typed decoder raises, before any other check of the body."""
        if rt.schema and getattr(rt.strategy, "typed_decode", True):  # custom resources are unstructured
            check_body_types(obj, rt.schema, rt.kind, rt.version)

    async def read_typed(self, request: web.Request, schema: str, kind: str, version: str) -> Obj:
        """A body of another kind than the resource (Binding, Eviction, TokenRequest...), decoded and type-checked."""
        body, _ = await self.read_object(request)
        check_body_types(body, schema, kind, version)
        return body

    def write_options(self, request: web.Request) -> WriteOptions:
        info: UserInfo | None = request.get(USER_KEY)
        return params.write_options(request.query, request.query.getall("dryRun", []), _user(request),
                                    info.groups if info else ())

    async def create(self, request: web.Request, rp: ResourcePath, rt: ResourceType) -> web.StreamResponse:
        opts = self.write_options(request)
        obj, raw = await self.read_object(request)
        self.check_types(rt, obj)
        check_type(obj, rt.api_version, rt.kind)
        check_namespace(obj, rp.namespace, rt)
        self.check_fields(request, rt, obj, raw, opts)
        created = await self.storage(rt).create(rp.namespace, obj, opts)
        return self.object_response(request, rt, created, status=201, warnings=opts.warnings)

    async def update(self, request: web.Request, rp: ResourcePath, rt: ResourceType) -> web.StreamResponse:
        opts = self.write_options(request)
        obj, raw = await self.read_object(request)
        self.check_types(rt, obj)
        check_type(obj, rt.api_version, rt.kind)
        check_namespace(obj, rp.namespace, rt)
        check_name(obj, rp.name)
        self.check_fields(request, rt, obj, raw, opts)
        result, created = await self.storage(rt).update(rp.namespace, rp.name, obj, opts, subresource=rp.subresource)
        return self.object_response(request, rt, result, status=201 if created else 200, warnings=opts.warnings)

    async def patch(self, request: web.Request, rp: ResourcePath, rt: ResourceType) -> web.StreamResponse:
        opts = self.write_options(request)
        patch_type, doc = await self.read_patch(request)
        if patch_type == negotiation.APPLY_PATCH:
            if not opts.field_manager:
                raise bad_request("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: "
                                  "is required for apply patch")
            check_type(doc, rt.api_version, rt.kind)
        result, created = await self.storage(rt).patch(rp.namespace, rp.name, patch_type, doc, opts,
                                                        subresource=rp.subresource)
        return self.object_response(request, rt, result, status=201 if created else 200, warnings=opts.warnings)

    async def read_patch(self, request: web.Request) -> tuple[str, Any]:
        ctype = negotiation.media_type(request)
        if ctype not in negotiation.PATCH_TYPES:
            raise unsupported_media_type(ctype)
        body = await negotiation.read_body(request, self.max_body)
        return ctype, negotiation.decode_patch(ctype, body)

    async def delete(self, request: web.Request, rp: ResourcePath, rt: ResourceType) -> web.StreamResponse:
        opts = await self.delete_options(request)
        obj = await self.storage(rt).delete(rp.namespace, rp.name, opts)
        return json_response(obj, pretty=is_pretty(request), warnings=opts.warnings)

    async def deletecollection(self, request: web.Request, rp: ResourcePath, rt: ResourceType) -> web.StreamResponse:
        opts = await self.delete_options(request)
        result = await self.storage(rt).delete_collection(rp.namespace, params.list_options(request.query), opts)
        return json_response(result, pretty=is_pretty(request), warnings=opts.warnings)

    async def delete_options(self, request: web.Request) -> Any:
        body = await negotiation.read_body(request, self.max_body)
        doc = negotiation.decode_optional_json(negotiation.media_type(request), body)
        return params.delete_options(request.query, request.query.getall("dryRun", []), doc)


def check_body_types(obj: Obj, schema: str, kind: str, version: str) -> None:
    mismatch = typecheck.first_mismatch(obj, schema)
    if mismatch is not None:
        raise bad_request(f'{kind} in version "{version}" cannot be handled as a {kind}: {mismatch.message()}')


def _cannot_handle(rt: ResourceType, exc: StatusError) -> StatusError:
    """As upstream's decoder words a whole-object body it cannot take."""
    return StatusError(exc.code, exc.reason, f'{rt.kind} in version "{rt.version}" cannot be handled as '
                                             f'a {rt.kind}: {exc.message}')


_VERBS: dict[tuple[str, bool], str] = {
    ("GET", False): "list",
    ("GET", True): "get",
    ("POST", False): "create",
    ("POST", True): "create",
    ("PUT", True): "update",
    ("PATCH", True): "patch",
    ("DELETE", True): "delete",
    ("DELETE", False): "deletecollection",
}
