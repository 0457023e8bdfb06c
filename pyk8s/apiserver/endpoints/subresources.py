"""Subresources other than ``status``: routed to what the resource's storage bundle declares.

The bundle (``registry/bundle.py``, built-in ones in ``registry/special.py``)
gives each subresource an object of one of three shapes, and this module only
decodes the request for it and writes its answer:

* a view (``scale``): GET ``get``, PUT ``update`` (an autoscaling/v1 Scale
  body), PATCH ``patch``; a write that names no field manager gets the
  User-Agent's, as upstream;
* a POST (``binding``, ``eviction``, ``token``): the body decoded as its kind,
  then ``create``; 201 with what it returns;
* a connection (``log``, ``exec``, ``attach``, ``portforward``, ``proxy``):
  ``connect`` with the request.  A server that makes no kubelet connections
  answers these with an honest 503.

``ephemeralcontainers``, ``resize``, ``finalize`` and ``approval`` are updates
of the main store through its subresource (the store's strategy decides).  A
registry without bundles (the HTTP tests' fake) is served by the built-in
bundles over its stores.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from pyk8s.apiserver.endpoints.objects import check_type
from pyk8s.apiserver.endpoints.paths import ResourcePath
from pyk8s.apiserver.endpoints.responses import REQUEST_WARNINGS, is_pretty, json_response
from pyk8s.apiserver.registry import special
from pyk8s.apiserver.registry.bundle import Peers
from pyk8s.apiserver.registry.rest import WriteOptions
from pyk8s.apiserver.webhooks.operations import admit_connect
from pyk8s.machinery.errors import StatusError, bad_request, method_not_allowed
from pyk8s.machinery.scheme import ResourceType

if TYPE_CHECKING:
    from pyk8s.apiserver.endpoints.resources import ResourceHandler

Obj = dict[str, Any]
CONNECT = ("log", "exec", "attach", "portforward", "proxy")
PASS_THROUGH = ("ephemeralcontainers", "resize", "finalize", "approval")
BINDING_SCHEMA = "io.k8s.api.core.v1.Binding"
#: The kind each POST-only subresource takes: (schema, kind, version) for the typed decode, and its apiVersion.
BODY_TYPES = {"binding": (BINDING_SCHEMA, "Binding", "v1", "v1"),
              "eviction": ("io.k8s.api.policy.v1.Eviction", "Eviction", "v1", ""),
              "token": ("io.k8s.api.authentication.v1.TokenRequest", "TokenRequest", "v1",
                        "authentication.k8s.io/v1")}
#: Methods a connect subresource takes (the proxy: every one, passed on).
CONNECT_METHODS = {"log": ("GET",), "exec": ("GET", "POST"), "attach": ("GET", "POST"),
                   "portforward": ("GET", "POST")}


def implementation(handler: ResourceHandler, rt: ResourceType, sub: str) -> Any:
    """What the resource's bundle declares for ``sub`` (None: nothing)."""
    hook = getattr(handler.registry, "subresource", None)
    if hook is not None:
        return hook(rt, sub)
    make = special.builtin_bundle(rt).subresources.get(sub)
    return make(handler.storage(rt)) if make is not None else None


def peers(handler: ResourceHandler) -> Peers:
    def lookup(group: str, plural: str) -> Any:
        for version in handler.scheme.versions(group):
            rt = handler.scheme.get(group, version, plural)
            if rt is not None:
                return handler.storage(rt)
        return None

    return Peers(lookup, token_signer=handler.token_signer, kubelets=handler.kubelets)


async def handle(handler: ResourceHandler, request: web.Request, rp: ResourcePath, rt: ResourceType) -> web.StreamResponse:
    sub = rp.subresource
    if sub in PASS_THROUGH:
        return await pass_through(handler, request, rp, rt)
    impl = implementation(handler, rt, sub)
    if sub in CONNECT:
        if sub in CONNECT_METHODS and request.method not in CONNECT_METHODS[sub]:
            raise method_not_allowed()
        # Admission (webhooks) sees every CONNECT before it is served (``log`` is a read, not one).
        warnings = await admit_connect(handler.registry, rt.group, rt.plural, rp.namespace, rp.name, sub,
                                       request.query, rp.proxy_path)
        if warnings:
            request[REQUEST_WARNINGS] = warnings
        if impl is None or handler.kubelets is None:
            return await unavailable(handler, rp, rt)
        response: web.StreamResponse = await impl.connect(request, rp.namespace, rp.name, peers(handler))
        return response
    if impl is None:
        raise method_not_allowed()
    if sub in BODY_TYPES:
        if request.method != "POST":
            raise method_not_allowed()
        return await create(handler, request, impl, sub, rp.namespace, rp.name)
    return await view(handler, request, rp, impl)


async def view(handler: ResourceHandler, request: web.Request, rp: ResourcePath, impl: Any) -> web.StreamResponse:
    """``scale``: GET, PUT or PATCH of a view of the object."""
    if request.method == "GET":
        return json_response(await impl.get(rp.namespace, rp.name), pretty=is_pretty(request))
    if request.method not in ("PUT", "PATCH"):
        raise method_not_allowed()
    opts = handler.write_options(request)
    opts.field_manager = opts.field_manager or manager_from_user_agent(request.headers.get("User-Agent", ""))
    if request.method == "PUT":
        body, _ = await handler.read_object(request)
        check_type(body, "autoscaling/v1", "Scale")
        result, _ = await impl.update(rp.namespace, rp.name, body, opts)
    else:
        patch_type, doc = await handler.read_patch(request)
        result, _ = await impl.patch(rp.namespace, rp.name, patch_type, doc, opts)
    return json_response(result, warnings=opts.warnings)


async def create(handler: ResourceHandler, request: web.Request, impl: Any, sub: str, namespace: str,
                 name: str) -> web.StreamResponse:
    schema, kind, version, api_version = BODY_TYPES[sub]
    body = await handler.read_typed(request, schema, kind, version)
    if api_version:
        check_type(body, api_version, kind)
    opts = handler.write_options(request)
    result = await impl.create(namespace, name, body, opts, peers(handler))
    return json_response(result, status=201, warnings=opts.warnings)


async def bind_named(handler: ResourceHandler, namespace: str, pod_name: str, body: Obj,
                     opts: WriteOptions) -> web.StreamResponse:
    """The legacy ``POST namespaces/{ns}/bindings`` form: the same binding as ``pods/{name}/binding``."""
    pods = handler.scheme.get("", "v1", "pods")
    impl = implementation(handler, pods, "binding") if pods is not None else None
    if impl is None:
        raise StatusError(503, "ServiceUnavailable", "pods are not served")
    return json_response(await impl.create(namespace, pod_name, body, opts, peers(handler)), status=201)


def manager_from_user_agent(user_agent: str) -> str:
    """The field manager of a write that names none: the User-Agent up to its first ``/``, printable
    characters only, at most 128 bytes (``kubectl/v1.32.0 (linux/amd64) ...`` is ``kubectl``), as upstream."""
    out, size = [], 0
    for ch in user_agent.split("/", 1)[0]:
        if not ch.isprintable():
            continue
        size += len(ch.encode())
        if size > 128:
            break
        out.append(ch)
    return "".join(out)


async def unavailable(handler: ResourceHandler, rp: ResourcePath, rt: ResourceType) -> web.StreamResponse:
    """A connect subresource on a server without kubelet connections: 503, saying what is missing."""
    obj = await handler.storage(rt).get(rp.namespace, rp.name)
    if rt.kind == "Pod":
        node = (obj.get("spec") or {}).get("nodeName")
        if not node:
            raise bad_request(f"pod {rp.name} does not have a host assigned")
        what = {"log": "container logs are", "proxy": "the pod proxy is"}.get(rp.subresource, f"{rp.subresource} is")
        raise StatusError(503, "ServiceUnavailable", f'{what} not available: no kubelet serves node "{node}" yet')
    raise StatusError(503, "ServiceUnavailable", f"{rt.plural}/{rp.subresource} is not available on this server yet")


async def pass_through(handler: ResourceHandler, request: web.Request, rp: ResourcePath, rt: ResourceType) -> web.StreamResponse:
    store = handler.storage(rt)
    if request.method == "GET":
        return json_response(await store.get(rp.namespace, rp.name), pretty=is_pretty(request))
    opts = handler.write_options(request)
    if request.method == "PUT":
        body, _ = await handler.read_object(request)
        handler.check_types(rt, body)
        result, _ = await store.update(rp.namespace, rp.name, body, opts, subresource=rp.subresource)
    elif request.method == "PATCH":
        patch_type, doc = await handler.read_patch(request)
        result, _ = await store.patch(rp.namespace, rp.name, patch_type, doc, opts, subresource=rp.subresource)
    else:
        raise method_not_allowed()
    return json_response(result, warnings=opts.warnings)
