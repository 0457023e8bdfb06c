"""The two webhook admission plugins.

MutatingAdmissionWebhook (mutating phase, after the built-in mutating plugins): the matching webhooks one
after another, each getting the object as the previous ones left it; a JSONPatch answer is applied.  A
webhook with reinvocationPolicy IfNeeded is called once more when a later webhook changed the object
after it ran.  ValidatingAdmissionWebhook (validating phase): the matching webhooks in parallel; the
first refusal, in configuration order, wins.  Both: warnings go to the client as Warning headers; a
call that fails (unreachable, timeout, bad answer, a matchCondition that cannot be evaluated) is
ignored under failurePolicy Ignore and is a 500 ``failed calling webhook`` under Fail; dry-run requests
refuse webhooks that may have side effects.  Requests about the webhook configurations themselves are
never sent to webhooks (upstream's exemption, so a broken webhook cannot lock itself in).
"""

from __future__ import annotations

import asyncio
import copy
import logging
from typing import TYPE_CHECKING, Any

from pyk8s.apiserver.admission.interface import CONNECT, CREATE, DELETE, UPDATE, Attributes, Plugin
from pyk8s.apiserver.webhooks import configs, matching, review
from pyk8s.apiserver.webhooks.client import Client
from pyk8s.apiserver.webhooks.conditions import ConditionError, holds
from pyk8s.machinery import errors
from pyk8s.machinery.patch.jsonpatch import apply_json_patch

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry

log = logging.getLogger("pyk8s.apiserver.webhooks")
Obj = dict[str, Any]
EXEMPT = frozenset({(configs.GROUP, configs.MUTATING), (configs.GROUP, configs.VALIDATING)})
NO_SIDE_EFFECTS = ("None", "NoneOnDryRun")


def request_of(registry: Registry, attrs: Attributes) -> matching.Request:
    body = attrs.obj if attrs.operation != DELETE else (attrs.old or attrs.obj)
    api_version = str((body or {}).get("apiVersion") or "")
    version = api_version.rpartition("/")[2]
    rt = registry.scheme.get(attrs.group, version, attrs.plural)
    namespaced = rt.namespaced if rt is not None else bool(attrs.namespace)
    return matching.Request(attrs.operation, attrs.group, version, attrs.plural, attrs.subresource,
                            attrs.namespace if namespaced else "", namespaced,
                            attrs.obj if attrs.operation != "DELETE" else None, attrs.old)


def _failed(exc: Exception) -> errors.StatusError:
    return errors.StatusError(500, "InternalError", f"Internal error occurred: {exc}",
                              causes=[errors.Cause("", str(exc), "")])


class WebhookPlugin(Plugin):
    plural = ""
    operations = frozenset({CREATE, UPDATE, DELETE, CONNECT})

    def __init__(self) -> None:
        self.client = Client()

    static_handles = True  # operation, resource and subresource only

    def handles(self, attrs: Attributes) -> bool:
        return attrs.resource not in EXEMPT

    async def _selected(self, registry: Registry, attrs: Attributes) -> tuple[matching.Request, list[configs.Hook]]:
        hooks = await configs.hooks(registry, self.plural)
        if not hooks:
            return matching.Request("", "", "", "", "", "", False, None, None), []
        req = request_of(registry, attrs)
        return req, [h for h in hooks if await matching.matches(h.spec, req, registry)]

    async def call(self, registry: Registry, attrs: Attributes, req: matching.Request, hook: configs.Hook,
                   obj: Obj | None) -> Obj | None:
        """The webhook's response, or None when it is skipped (a false matchCondition, or a failure it
        ignores).  Raises the StatusError the request fails with."""
        spec = hook.spec
        if attrs.dry_run and spec.get("sideEffects") not in NO_SIDE_EFFECTS:
            raise errors.StatusError(400, "BadRequest", f"admission webhook \"{hook.name}\" does not support dry run")
        try:
            uid, body = review.build(attrs, req, obj)
            if spec.get("matchConditions"):
                variables = {"object": obj if attrs.operation != "DELETE" else None, "oldObject": attrs.old,
                             "request": _request_vars(body)}
                try:
                    if not holds(spec["matchConditions"], variables):
                        return None
                except ConditionError as exc:
                    raise review.CallError(hook.name, f"failed evaluating match conditions, failing closed: {exc}") from None
            raw = await self.client.post_review(registry, spec, body)
            return review.response_of(hook.name, uid, raw)
        except review.CallError as exc:
            if spec.get("failurePolicy") == "Ignore":
                log.warning("failed calling webhook, failing open %s: %s", hook.name, exc)
                return None
            log.warning("failed calling webhook, failing closed %s: %s", hook.name, exc)
            raise _failed(exc) from None


def _request_vars(body: bytes) -> Obj:
    import orjson

    request: Obj = orjson.loads(body)["request"]
    request.pop("object", None)
    request.pop("oldObject", None)
    return request


class MutatingWebhook(WebhookPlugin):
    name = "MutatingAdmissionWebhook"
    plural = configs.MUTATING

    async def admit(self, registry: Registry, attrs: Attributes) -> None:
        req, hooks = await self._selected(registry, attrs)
        if not hooks:
            return
        seen_after: dict[tuple[str, str], Obj] = {}  # IfNeeded hooks: the object as they left it
        for hook in hooks:
            await self._invoke(registry, attrs, req, hook)
            if hook.spec.get("reinvocationPolicy") == "IfNeeded":
                seen_after[hook.key] = copy.deepcopy(attrs.obj)
        again = [h for h in hooks if h.key in seen_after and seen_after[h.key] != attrs.obj]
        for hook in again:  # upstream reinvokes at most once
            await self._invoke(registry, attrs, req, hook)

    async def _invoke(self, registry: Registry, attrs: Attributes, req: matching.Request,
                      hook: configs.Hook) -> None:
        response = await self.call(registry, attrs, req, hook, attrs.obj)
        if response is None:
            return
        attrs.warnings.extend(str(w) for w in response.get("warnings") or [])
        if not response.get("allowed"):
            raise review.denial(hook.name, response)
        try:
            ops = review.patch_of(hook.name, response)
        except review.CallError as exc:
            if hook.spec.get("failurePolicy") == "Ignore":
                return
            raise _failed(exc) from None
        if ops is None:
            return
        if attrs.operation in (DELETE, CONNECT):  # nothing is written: there is no object to patch
            log.warning("admission webhook %s answered a %s with a patch; it is not applied", hook.name,
                        attrs.operation)
            return
        try:
            patched = apply_json_patch(attrs.obj, ops)
        except errors.StatusError as exc:
            raise _failed(Exception(exc.message)) from None
        if not isinstance(patched, dict):
            raise _failed(Exception(f"admission webhook \"{hook.name}\" returned a patch that does not leave "
                                    f"an object"))
        attrs.obj.clear()
        attrs.obj.update(patched)


class ValidatingWebhook(WebhookPlugin):
    name = "ValidatingAdmissionWebhook"
    plural = configs.VALIDATING

    async def validate(self, registry: Registry, attrs: Attributes) -> None:
        req, hooks = await self._selected(registry, attrs)
        if not hooks:
            return
        results = await asyncio.gather(*(self.call(registry, attrs, req, h, attrs.obj) for h in hooks),
                                       return_exceptions=True)
        first: BaseException | None = None
        for hook, result in zip(hooks, results, strict=True):
            if isinstance(result, BaseException):
                first = first or result
                continue
            if result is None:
                continue
            attrs.warnings.extend(str(w) for w in result.get("warnings") or [])
            if not result.get("allowed") and first is None:
                first = review.denial(hook.name, result)
        if first is not None:
            raise first
