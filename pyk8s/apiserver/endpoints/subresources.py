"""Subresources other than ``status``: scale, binding, eviction, token, the
pod streaming endpoints, and the pass-through ones (ephemeralcontainers,
resize, finalize).

If the registry offers its own implementation (``registry.subresource(rt,
name)`` returning an object with the needed methods), it is used.  Otherwise
the generic versions here work on top of the main resource's store, the way
upstream's scale and binding stores read, change and write the parent object
with its resourceVersion as the precondition:

* ``scale``: an autoscaling/v1 Scale view of ``spec.replicas``;
* ``binding``: sets ``spec.nodeName`` once (409 if already bound);
* ``eviction``: deletes the pod with the Eviction's deleteOptions unless its
  disruption budget forbids it (429; ``registry/core/eviction.py`` decides);
* ``token``: a TokenRequest answered with a signed service-account token.

``log`` is proxied to the pod's kubelet (``podlogs``); ``exec``, ``attach``
and ``portforward`` are upgraded connections passed through to it
(``podstreams``).  Proxy is not served yet: it answers an honest Status.
"""

from __future__ import annotations

import copy
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from pyk8s.api.core_v1.helpers import satokens
from pyk8s.apiserver.endpoints import negotiation, params, podlogs, podstreams, proxyforward
from pyk8s.apiserver.endpoints.objects import check_type
from pyk8s.apiserver.endpoints.paths import ResourcePath
from pyk8s.apiserver.endpoints.responses import is_pretty, json_response
from pyk8s.apiserver.registry.core import eviction
from pyk8s.apiserver.registry.rest import DeleteOptions, WriteOptions
from pyk8s.apiserver.webhooks.operations import CONNECT_SUBRESOURCES, admit_connect
from pyk8s.machinery import labels, typecheck, validation
from pyk8s.machinery.errors import Cause, StatusError, bad_request, conflict, invalid, method_not_allowed
from pyk8s.machinery.patch import apply_json_patch, apply_merge_patch, apply_strategic
from pyk8s.machinery.scheme import ResourceType

if TYPE_CHECKING:
    from pyk8s.apiserver.endpoints.resources import ResourceHandler

Obj = dict[str, Any]
STREAMING = ("log", "exec", "attach", "portforward", "proxy")
POD_STREAMS = ("exec", "attach", "portforward")
PASS_THROUGH = ("ephemeralcontainers", "resize", "finalize", "approval")
SCALE_SCHEMA = "io.k8s.api.autoscaling.v1.Scale"
BINDING_SCHEMA = "io.k8s.api.core.v1.Binding"
#: The kind each POST-only subresource takes: (schema, kind, version) for the typed decode.
BODY_TYPES = {"binding": (BINDING_SCHEMA, "Binding", "v1"),
              "eviction": ("io.k8s.api.policy.v1.Eviction", "Eviction", "v1"),
              "token": ("io.k8s.api.authentication.v1.TokenRequest", "TokenRequest", "v1")}
CONFLICT_RETRIES = 5
TOKEN_DEFAULT_SECONDS = 3600
TOKEN_MIN_SECONDS = 600
TOKEN_MAX_SECONDS = 1 << 32  # upstream's validation bound; --service-account-max-token-expiration caps lower


def _rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _registry_impl(handler: ResourceHandler, rt: ResourceType, sub: str) -> Any:
    hook = getattr(handler.registry, "subresource", None)
    return hook(rt, sub) if hook is not None else None


async def handle(handler: ResourceHandler, request: web.Request, rp: ResourcePath, rt: ResourceType) -> web.StreamResponse:
    sub = rp.subresource
    if sub in CONNECT_SUBRESOURCES:  # admission (webhooks) sees every CONNECT before it is served
        await admit_connect(handler.registry, rt.group, rt.plural, rp.namespace, rp.name, sub, request.query,
                            getattr(rp, "proxy_path", ""))
    if sub == "log" and rt.kind == "Pod" and handler.kubelets is not None and request.method == "GET":
        return await pod_log(handler, request, rp, rt)
    if sub in POD_STREAMS and rt.kind == "Pod" and handler.kubelets is not None:
        if request.method not in ("GET", "POST"):
            raise method_not_allowed()
        return await pod_stream(handler, request, rp, rt)
    if sub == "proxy":
        return await proxy(handler, request, rp, rt)
    if sub in STREAMING:
        return await streaming_unavailable(handler, rp, rt)
    if sub == "scale":
        return await scale(handler, request, rp, rt)
    if sub in ("binding", "eviction", "token"):
        if request.method != "POST":
            raise method_not_allowed()
        impl = _registry_impl(handler, rt, sub)
        body = await handler.read_typed(request, *BODY_TYPES[sub])
        fn = {"binding": bind, "eviction": evict, "token": token}[sub]
        return await fn(handler, request, rp, rt, body, impl)
    if sub in PASS_THROUGH:
        return await pass_through(handler, request, rp, rt)
    raise method_not_allowed()


# --- scale ---------------------------------------------------------------------


def to_scale(obj: Obj) -> Obj:
    meta = obj.get("metadata") or {}
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    scale_meta = {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in meta}
    selector = spec.get("selector")
    scale_status: Obj = {"replicas": int(status.get("replicas") or 0)}
    if isinstance(selector, dict):
        text = labels.format_label_selector(selector)
        if text and text != "<none>":
            scale_status["selector"] = text
    return {"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": scale_meta,
            "spec": {"replicas": int(spec.get("replicas", 1) or 0)}, "status": scale_status}


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


def _patched_scale(current: Obj, patch_type: str, doc: Any) -> Obj:
    if patch_type == negotiation.JSON_PATCH:
        return apply_json_patch(current, doc)
    if patch_type == negotiation.STRATEGIC_MERGE_PATCH:
        return apply_strategic(current, doc, SCALE_SCHEMA)
    return apply_merge_patch(current, doc)


def _check_scale(new: Obj, current: Obj) -> int:
    mismatch = typecheck.first_mismatch(new, SCALE_SCHEMA)  # a Scale upstream could not decode (int32 replicas)
    if mismatch is not None:
        raise bad_request(f'Scale in version "v1" cannot be handled as a Scale: {mismatch.message()}')
    replicas = (new.get("spec") or {}).get("replicas", 0)
    if not isinstance(replicas, int) or isinstance(replicas, bool):
        raise bad_request("spec.replicas: must be an integer")
    if replicas < 0:
        name = (current.get("metadata") or {}).get("name", "")
        raise invalid("Scale", name, [Cause("FieldValueInvalid", f"Invalid value: {replicas}: must be greater than or equal to 0",
                                            "spec.replicas")], group="autoscaling")
    return replicas


async def scale(handler: ResourceHandler, request: web.Request, rp: ResourcePath, rt: ResourceType) -> web.StreamResponse:
    impl = _registry_impl(handler, rt, "scale")
    store = handler.storage(rt)
    if request.method == "GET":
        if impl is not None:
            return json_response(await impl.get(rp.namespace, rp.name), pretty=is_pretty(request))
        return json_response(to_scale(await store.get(rp.namespace, rp.name)), pretty=is_pretty(request))
    if request.method not in ("PUT", "PATCH"):
        raise method_not_allowed()
    opts = handler.write_options(request)
    opts.field_manager = opts.field_manager or manager_from_user_agent(request.headers.get("User-Agent", ""))
    if request.method == "PUT":
        body, _ = await handler.read_object(request)
        check_type(body, "autoscaling/v1", "Scale")
        if impl is not None:
            result, _ = await impl.update(rp.namespace, rp.name, body, opts)
            return json_response(result, warnings=opts.warnings)
        return await _write_scale(handler, rp, rt, opts, lambda _cur: body)
    patch_type, doc = await handler.read_patch(request)
    if impl is not None:
        result, _ = await impl.patch(rp.namespace, rp.name, patch_type, doc, opts)
        return json_response(result, warnings=opts.warnings)
    return await _write_scale(handler, rp, rt, opts, lambda cur: _patched_scale(cur, patch_type, doc))


async def _write_scale(handler: ResourceHandler, rp: ResourcePath, rt: ResourceType, opts: WriteOptions,
                       make: Any) -> web.StreamResponse:
    store = handler.storage(rt)
    for _ in range(CONFLICT_RETRIES):
        obj = await store.get(rp.namespace, rp.name)
        current = to_scale(obj)
        new = make(copy.deepcopy(current))
        replicas = _check_scale(new, current)
        # A precondition is a resourceVersion the client sent: a PUT body's, or one a patch set. A patch
        # that leaves the current one in place has none, so a write racing it is retried, as upstream's.
        wanted_rv = (new.get("metadata") or {}).get("resourceVersion")
        if wanted_rv and wanted_rv != current["metadata"].get("resourceVersion"):
            raise conflict(rt.plural, rp.name, rt.group)
        obj.setdefault("spec", {})["replicas"] = replicas
        try:
            result, _ = await store.update(rp.namespace, rp.name, obj, opts, subresource="scale")
        except StatusError as err:
            if err.code == 409:
                continue  # the parent changed since it was read: re-read; a precondition fails above
            raise
        return json_response(to_scale(result), warnings=opts.warnings)
    raise conflict(rt.plural, rp.name, rt.group)


# --- binding, eviction, token ----------------------------------------------------


async def bind(handler: ResourceHandler, request: web.Request, rp: ResourcePath, rt: ResourceType, body: Obj,
               impl: Any) -> web.StreamResponse:
    check_type(body, "v1", "Binding")
    opts = handler.write_options(request)
    if impl is not None:
        return json_response(await impl.create(rp.namespace, rp.name, body, opts), status=201)
    return await bind_pod(handler, rp.namespace, rp.name, body, opts)


async def bind_named(handler: ResourceHandler, namespace: str, pod_name: str, body: Obj,
                     opts: WriteOptions) -> web.StreamResponse:
    """The legacy ``POST namespaces/{ns}/bindings`` form: the same binding as ``pods/{name}/binding``."""
    pods = handler.scheme.get("", "v1", "pods")
    impl = _registry_impl(handler, pods, "binding") if pods is not None else None
    if impl is not None:
        return json_response(await impl.create(namespace, pod_name, body, opts), status=201)
    return await bind_pod(handler, namespace, pod_name, body, opts)


async def bind_pod(handler: ResourceHandler, namespace: str, pod_name: str, body: Obj,
                   opts: WriteOptions) -> web.StreamResponse:
    """Set the pod's spec.nodeName (once) and its PodScheduled condition."""
    target = body.get("target") or {}
    node = target.get("name") if isinstance(target, dict) else None
    if not node:
        raise bad_request("target.name: Required value")
    pods = handler.scheme.get("", "v1", "pods")
    if pods is None:
        raise StatusError(503, "ServiceUnavailable", "pods are not served")
    store = handler.storage(pods)
    pod = await store.get(namespace, pod_name)
    bound = (pod.get("spec") or {}).get("nodeName")
    if bound:
        raise conflict("pods/binding", pod_name, "", f'pod {pod_name} is already assigned to node "{bound}"')
    pod.setdefault("spec", {})["nodeName"] = node
    pod, _ = await store.update(namespace, pod_name, pod, opts)
    if not opts.dry_run:
        status = pod.setdefault("status", {})
        conds = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
        conds.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                      "lastTransitionTime": _rfc3339(time.time())})
        status["conditions"] = conds
        await store.update(namespace, pod_name, pod, WriteOptions(user=opts.user, field_manager=opts.field_manager),
                           subresource="status")
    return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201},
                         status=201)


async def evict(handler: ResourceHandler, request: web.Request, rp: ResourcePath, rt: ResourceType, body: Obj,
                impl: Any) -> web.StreamResponse:
    api_version = body.get("apiVersion") or "policy/v1"
    if api_version not in ("policy/v1", "policy/v1beta1"):
        raise bad_request(f"the API version in the data ({api_version}) does not match the expected API version (policy/v1)")
    if body.get("kind") not in (None, "", "Eviction"):
        raise bad_request(f"the kind in the data ({body.get('kind')}) does not match the expected kind (Eviction)")
    name = (body.get("metadata") or {}).get("name")
    if name and name != rp.name:
        raise bad_request(f"name in URL does not match name in Eviction object: {rp.name} != {name}")
    if impl is not None:
        return json_response(await impl.create(rp.namespace, rp.name, body, handler.write_options(request)), status=201)
    raw_opts = body.get("deleteOptions") or {}
    opts: DeleteOptions = params.delete_options({}, request.query.getall("dryRun", []), raw_opts)
    budgets_of = getattr(handler.registry, "store", None)  # the budgets decide (registry/core/eviction.py)
    budgets = budgets_of("policy", "poddisruptionbudgets") if budgets_of is not None else None
    await eviction.evict(handler.storage(rt), budgets, rp.namespace, rp.name, opts)
    return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201},
                         status=201)


async def token(handler: ResourceHandler, request: web.Request, rp: ResourcePath, rt: ResourceType, body: Obj,
                impl: Any) -> web.StreamResponse:
    """TokenRequest: a JWT for the ServiceAccount, bound to a pod, Secret or node when asked (upstream's
    TokenREST: the bound object must exist, with the uid given, and a pod must run as this account)."""
    check_type(body, "authentication.k8s.io/v1", "TokenRequest")
    if impl is not None:
        return json_response(await impl.create(rp.namespace, rp.name, body, handler.write_options(request)), status=201)
    issuer = handler.token_signer
    if issuer is None:
        raise StatusError(503, "ServiceUnavailable", "service account tokens are not configured on this server")
    meta = dict(body.get("metadata") or {})
    _check_token_request_meta(meta, rp)
    sa = await handler.storage(rt).get(rp.namespace, rp.name)
    spec = dict(body.get("spec") or {})
    spec["audiences"] = list(spec.get("audiences") or issuer.api_audiences)
    seconds = spec.get("expirationSeconds")
    spec["expirationSeconds"] = seconds = TOKEN_DEFAULT_SECONDS if seconds is None else seconds
    _validate_token_request(spec)
    bound = await _bound_objects(handler, rp, spec)
    warnings: list[str] = []
    if 0 < issuer.max_expiration_seconds < seconds:
        warnings.append(f"requested expiration of {seconds} seconds shortened to "
                        f"{issuer.max_expiration_seconds} seconds")
        spec["expirationSeconds"] = seconds = issuer.max_expiration_seconds
    lifetime, warn_after = seconds, 0
    if (issuer.extend_expiration and bound.get("pod") is not None and seconds == satokens.WARN_ONLY_SECONDS
            and issuer.is_api_audiences(spec["audiences"])):
        lifetime, warn_after = satokens.EXTENDED_SECONDS, seconds
    now = time.time()
    claims = satokens.bound_claims(issuer=issuer.issuer, audiences=spec["audiences"], service_account=sa,
                                   seconds=lifetime, warn_after=warn_after, now=now, **bound)
    meta.update(name=rp.name, namespace=rp.namespace, creationTimestamp=_rfc3339(now))
    result = {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1", "metadata": meta, "spec": spec,
              "status": {"token": issuer.sign(claims), "expirationTimestamp": _rfc3339(int(now) + seconds)}}
    return json_response(result, status=201, warnings=warnings)


def _check_token_request_meta(meta: Obj, rp: ResourcePath) -> None:
    for key, want, what in (("name", rp.name, "name"), ("namespace", rp.namespace, "namespace")):
        if meta.get(key) and meta[key] != want:
            raise invalid("TokenRequest", rp.name, [validation.invalid(
                f"metadata.{key}", meta[key], f"must match the service account {what} if specified").to_cause()],
                group="authentication.k8s.io")


def _validate_token_request(spec: Obj) -> None:
    seconds = spec["expirationSeconds"]
    errs = []
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise bad_request(f"spec.expirationSeconds: Invalid value: {seconds!r}: must be an integer")
    if seconds < TOKEN_MIN_SECONDS:
        errs.append(validation.invalid("spec.expirationSeconds", seconds,
                                       "may not specify a duration less than 10 minutes"))
    if seconds > TOKEN_MAX_SECONDS:
        errs.append(validation.invalid("spec.expirationSeconds", seconds,
                                       "may not specify a duration larger than 2^32 seconds"))
    if errs:
        raise invalid("TokenRequest", "", [e.to_cause() for e in errs], group="authentication.k8s.io")


async def _bound_objects(handler: ResourceHandler, rp: ResourcePath, spec: Obj) -> dict[str, Obj | None]:
    """The pod, Secret or node ``spec.boundObjectRef`` names (``spec`` gets its uid), for the token's claims."""
    ref = spec.get("boundObjectRef")
    if not isinstance(ref, dict) or not ref:
        spec["boundObjectRef"] = None
        return {}
    kind, api_version, name = str(ref.get("kind") or ""), str(ref.get("apiVersion") or ""), str(ref.get("name") or "")
    plural = {"Pod": "pods", "Secret": "secrets", "Node": "nodes"}.get(kind) if api_version == "v1" else None
    group, _, version = api_version.rpartition("/")
    if plural is None:
        raise bad_request(f"cannot bind token to object of type {group}/{version}, Kind={kind}")
    target_rt = handler.scheme.get("", "v1", plural)
    if target_rt is None:
        raise StatusError(503, "ServiceUnavailable", f"{plural} are not served")
    obj = await handler.storage(target_rt).get("" if kind == "Node" else rp.namespace, name)
    uid = str((obj.get("metadata") or {}).get("uid", ""))
    out: dict[str, Obj | None] = {kind.lower(): obj}
    if kind == "Pod":
        if ((obj.get("spec") or {}).get("serviceAccountName") or "default") != rp.name:
            raise bad_request(f'cannot bind token for serviceaccount "{rp.name}" to pod running with different '
                              "serviceaccount name.")
        node_name = (obj.get("spec") or {}).get("nodeName")
        nodes = handler.scheme.get("", "v1", "nodes")
        if node_name and nodes is not None:
            try:
                out["node"] = await handler.storage(nodes).get("", node_name)
            except StatusError:
                pass  # as upstream: a pod-bound token without node claims when the node cannot be read
    if ref.get("uid") and ref["uid"] != uid:
        raise conflict(kind, name, "", f"the UID in the bound object reference ({ref['uid']}) does not match the "
                       "UID in record. The object might have been deleted and then recreated")
    spec["boundObjectRef"] = {**ref, "uid": uid}
    return out


# --- streaming and pass-through --------------------------------------------------


async def _pod_and_node(handler: ResourceHandler, rp: ResourcePath, rt: ResourceType) -> tuple[Obj, Obj | None]:
    pod = await handler.storage(rt).get(rp.namespace, rp.name)
    node_name = (pod.get("spec") or {}).get("nodeName")
    node = None
    nodes = handler.scheme.get("", "v1", "nodes")
    if node_name and nodes is not None:
        node = await handler.storage(nodes).get("", node_name)
    return pod, node


async def pod_log(handler: ResourceHandler, request: web.Request, rp: ResourcePath,
                  rt: ResourceType) -> web.StreamResponse:
    assert handler.kubelets is not None
    pod, node = await _pod_and_node(handler, rp, rt)
    return await podlogs.serve(request, pod, node, handler.kubelets)


async def pod_stream(handler: ResourceHandler, request: web.Request, rp: ResourcePath,
                     rt: ResourceType) -> web.StreamResponse:
    assert handler.kubelets is not None
    pod, node = await _pod_and_node(handler, rp, rt)
    return await podstreams.serve(request, pod, node, rp.subresource, handler.kubelets)


async def proxy(handler: ResourceHandler, request: web.Request, rp: ResourcePath,
                rt: ResourceType) -> web.StreamResponse:
    """pods, services and nodes ``/proxy``: the registry finds the location, ``proxyforward`` passes the request on."""
    impl = _registry_impl(handler, rt, "proxy")
    if impl is None or handler.kubelets is None:
        return await streaming_unavailable(handler, rp, rt)
    location = await impl.location(rp.namespace, rp.name)
    transport = handler.kubelets if location.kubelet else handler.kubelets.cluster
    return await proxyforward.forward(request, location, rp.name, transport)


async def streaming_unavailable(handler: ResourceHandler, rp: ResourcePath, rt: ResourceType) -> web.StreamResponse:
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
