"""Conversion between a CRD's versions through its conversion webhook (``strategy: Webhook``).

A version other than the storage version is served by ``WebhookConvertingStore``:
every object goes to the storage version's store converted (ConversionReview
apiextensions.k8s.io/v1, POSTed over HTTPS with the webhook client of
``pyk8s.apiserver.webhooks``: a Service or URL, verified with the caBundle) and
comes back converted to the version asked for.  Patches are applied in the
requested version, as upstream applies them.  The webhook's answer is checked
as upstream checks it (same count, the desired apiVersion, the same kind; only
labels and annotations of the metadata may change).  Writes are validated against the requested
version's schema and rules before conversion, as upstream validates them.  Failures are 500s worded
``conversion webhook for <group/version>, Kind=<kind> failed: ...``.
(Conversion strategy ``None`` needs none of this: ``CustomResourceStore`` only
rewrites ``apiVersion``.)
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson

from pyk8s.apiserver.apiextensions import cel, structural
from pyk8s.apiserver.apiextensions.customresource import CustomResourceStore, CustomResourceStrategy
from pyk8s.apiserver.registry.generic import APPLY_PATCH, JSON_PATCH, MERGE_PATCH
from pyk8s.apiserver.registry.rest import DeleteOptions, ListOptions, WatchEvent, WatchOptions, WriteOptions
from pyk8s.apiserver.webhooks.client import Client
from pyk8s.apiserver.webhooks.review import CallError
from pyk8s.machinery.errors import StatusError
from pyk8s.machinery.patch import apply_json_patch, apply_merge_patch
from pyk8s.machinery.scheme import ResourceType
from pyk8s.machinery.validation import to_status_error

Obj = dict[str, Any]
CLIENT = Client()  # one pool of HTTPS sessions for every conversion webhook of this server
TIMEOUT_SECONDS = 30


class WebhookConverter:
    def __init__(self, registry: Any, crd_name: str, group: str, kind: str, webhook: Obj) -> None:
        self.registry = registry
        self.crd_name = crd_name
        self.group = group
        self.kind = kind
        self.webhook = webhook

    def _failed(self, api_version: str, why: str) -> StatusError:
        return StatusError(500, "InternalError",
                           f"conversion webhook for {api_version}, Kind={self.kind} failed: {why}")

    async def convert(self, objs: list[Obj], desired: str) -> list[Obj]:
        pending = [i for i, o in enumerate(objs) if o.get("apiVersion") != desired]
        if not pending:
            return objs
        uid = str(uuid.uuid4())
        review = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
                  "request": {"uid": uid, "desiredAPIVersion": desired, "objects": [objs[i] for i in pending]}}
        hook = {"name": self.crd_name, "clientConfig": self.webhook.get("clientConfig") or {},
                "timeoutSeconds": TIMEOUT_SECONDS}
        source = str(objs[pending[0]].get("apiVersion") or "")
        try:
            raw = await CLIENT.post_review(self.registry, hook, orjson.dumps(review))
        except CallError as exc:
            why = str(exc).split(": ", 1)[-1].removeprefix("failed to call webhook: ")
            raise self._failed(source, why) from None
        try:
            response = orjson.loads(raw).get("response") or {}
        except (orjson.JSONDecodeError, AttributeError):
            raise self._failed(source, "conversion webhook response was not a ConversionReview") from None
        if response.get("uid") != uid:
            raise self._failed(source, f"expected response uid {uid}, got {response.get('uid')!r}")
        result = response.get("result") or {}
        if result.get("status") != "Success":
            raise self._failed(source, str(result.get("message") or "conversion failed"))
        converted = response.get("convertedObjects") or []
        if len(converted) != len(pending):
            raise self._failed(source, f"expected {len(pending)} converted objects, got {len(converted)}")
        out = list(objs)
        for i, new in zip(pending, converted, strict=True):
            out[i] = self._checked(objs[i], new, desired, source)
        return out

    def _checked(self, old: Obj, new: Any, desired: str, source: str) -> Obj:
        if not isinstance(new, dict):
            raise self._failed(source, "converted object is not an object")
        if new.get("apiVersion") != desired:
            raise self._failed(source, f"invalid converted object: apiVersion {new.get('apiVersion')!r}, "
                                       f"expected {desired!r}")
        if new.get("kind") != old.get("kind"):
            raise self._failed(source, f"invalid converted object: kind {new.get('kind')!r}, "
                                       f"expected {old.get('kind')!r}")
        meta = copy.deepcopy(old.get("metadata") or {})
        new_meta = new.get("metadata") or {}
        for key in ("labels", "annotations"):  # the only metadata a conversion may change
            if key in new_meta:
                meta[key] = new_meta[key]
            else:
                meta.pop(key, None)
        return dict(new, metadata=meta)


class WebhookConvertingStore:
    """A served version through the storage version's store, converted both ways by the webhook."""

    def __init__(self, rt: ResourceType, inner: CustomResourceStore, converter: WebhookConverter) -> None:
        self.resource = rt
        self.inner = inner
        strategy = rt.strategy
        assert isinstance(strategy, CustomResourceStrategy)
        self.info = strategy.info  # the served version's (schema, rules, scale paths)
        self.converter = converter

    async def _out(self, obj: Obj) -> Obj:
        return (await self.converter.convert([obj], self.resource.api_version))[0]

    async def _in(self, obj: Obj) -> Obj:
        obj = dict(obj, apiVersion=obj.get("apiVersion") or self.resource.api_version)
        return (await self.converter.convert([obj], self.inner.resource.api_version))[0]

    async def get(self, namespace: str, name: str, *, resource_version: str = "") -> Obj:
        return await self._out(await self.inner.get(namespace, name, resource_version=resource_version))

    async def list(self, namespace: str, opts: ListOptions) -> Obj:
        listed = await self.inner.list(namespace, opts)
        listed["items"] = await self.converter.convert(listed.get("items") or [], self.resource.api_version)
        listed["apiVersion"] = self.resource.api_version
        return listed

    def _validate(self, obj: Obj, old: Obj | None) -> None:
        """The requested version's schema and rules, before conversion (upstream validates in that version)."""
        strategy = self.resource.strategy
        assert isinstance(strategy, CustomResourceStrategy)
        strategy.default(obj)
        errs = structural.validate(obj, self.info.schema)
        errs += cel.evaluate(obj, old, self.info.schema, self.info.rules, "", old is not None)
        if errs:
            name = str((obj.get("metadata") or {}).get("name") or "")
            raise to_status_error(self.resource.kind, name, errs, self.resource.group)

    async def create(self, namespace: str, obj: Obj, opts: WriteOptions) -> Obj:
        self._validate(obj, None)
        return await self._out(await self.inner.create(namespace, await self._in(obj), opts))

    async def update(self, namespace: str, name: str, obj: Obj, opts: WriteOptions,
                     *, subresource: str = "") -> tuple[Obj, bool]:
        try:
            old: Obj | None = await self.get(namespace, name)
        except StatusError as exc:
            if exc.code != 404:
                raise
            old = None
        self._validate(obj, old)
        stored, created = await self.inner.update(namespace, name, await self._in(obj), opts, subresource=subresource)
        return await self._out(stored), created

    async def patch(self, namespace: str, name: str, patch_type: str, patch: Any, opts: WriteOptions,
                    *, subresource: str = "") -> tuple[Obj, bool]:
        if patch_type not in (JSON_PATCH, MERGE_PATCH):
            accepted = f"{JSON_PATCH}, {MERGE_PATCH}" + (f", {APPLY_PATCH}" if patch_type != APPLY_PATCH else "")
            raise StatusError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                                                           f"accepted media types include: {accepted}")
        current = await self.get(namespace, name)
        rv = current["metadata"]["resourceVersion"]
        new = apply_json_patch(current, patch) if patch_type == JSON_PATCH else apply_merge_patch(current, patch)
        if not isinstance(new, dict):
            raise StatusError(400, "BadRequest", "the patch did not produce an object")
        new.setdefault("metadata", {}).setdefault("resourceVersion", rv)
        return await self.update(namespace, name, new, opts, subresource=subresource)

    async def delete(self, namespace: str, name: str, opts: DeleteOptions) -> Obj:
        return await self._out(await self.inner.delete(namespace, name, opts))

    async def delete_collection(self, namespace: str, list_opts: ListOptions, opts: DeleteOptions) -> Obj:
        listed = await self.inner.delete_collection(namespace, list_opts, opts)
        listed["items"] = await self.converter.convert(listed.get("items") or [], self.resource.api_version)
        return listed

    def watch(self, namespace: str, opts: WatchOptions) -> AsyncIterator[WatchEvent]:
        events = self.inner.watch(namespace, opts)

        async def converted() -> AsyncIterator[WatchEvent]:
            async for ev in events:
                if ev.type in ("ADDED", "MODIFIED", "DELETED"):
                    try:
                        obj = await self._out(ev.object)
                    except StatusError as exc:
                        yield WatchEvent("ERROR", exc.to_status())
                        return
                    yield WatchEvent(ev.type, obj, more=ev.more)
                elif ev.type == "BOOKMARK":
                    yield WatchEvent(ev.type, dict(ev.object, apiVersion=self.resource.api_version), more=ev.more)
                else:
                    yield ev

        return converted()

    async def guaranteed_update(self, *args: Any, **kwargs: Any) -> Obj:
        """For the scale subresource: replica paths are the same in every version of a CRD in practice."""
        return await self.inner.guaranteed_update(*args, **kwargs)

    def _conflict(self, name: str) -> StatusError:
        return self.inner._conflict(name)

    async def close(self) -> None:
        await self.inner.close()
