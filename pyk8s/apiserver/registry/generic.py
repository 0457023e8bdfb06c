"""The generic store: one ``RESTStorage`` for any kind, driven by its Strategy.

Objects live at ``/registry/<group or core>/<plural>/[<namespace>/]<name>`` as
orjson bytes without ``metadata.resourceVersion``; the resourceVersion is the
key's storage mod revision, filled in on every read.  Every write goes through
the storage's revision guard, so concurrent writers get 409 Conflict (a PUT
carrying a stale resourceVersion) or are retried (unconditional writes,
patches, internal callers of ``guaranteed_update``).

Subclasses (registry/core/*.py) hook ``before_create`` / ``after_delete`` /
``graceful_delete`` for what no strategy covers.  The registry refuses writes into a
missing or terminating namespace (``admit_namespace``) and runs its admission chain
(``_admit``: mutating after defaulting, validating after the strategy's validation; subresource
updates too, which most plugins ignore).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson

from pyk8s.apiserver.admission import interface as admission
from pyk8s.apiserver.registry import objectmeta
from pyk8s.apiserver.registry.rest import DeleteOptions, ListOptions, WatchEvent, WatchOptions, WriteOptions
from pyk8s.apiserver.registry.versions import storage_layout
from pyk8s.apiserver.watchcache import Filter, WatchCache
from pyk8s.apiserver.webhooks.operations import admit_delete
from pyk8s.machinery import errors, fieldcheck, fields, goshape, labels, typecheck
from pyk8s.machinery.errors import StatusError
from pyk8s.machinery.jsoncopy import json_copy
from pyk8s.machinery.patch.jsonpatch import apply_json_patch
from pyk8s.machinery.patch.mergepatch import apply_merge_patch
from pyk8s.machinery.patch.strategic import apply_strategic
from pyk8s.machinery.scheme import ResourceType
from pyk8s.machinery.validation import to_status_error
from pyk8s.storage.interface import (
    CompactedError,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    RevisionConflictError,
    Storage,
)

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry

Obj = dict[str, Any]
Mutator = Callable[[Obj], Obj | None | Awaitable[Obj | None]]
Items = list[Any]  # a list's items (``list`` is a method name inside the store)

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
UPDATE_RETRIES = 20
LIST_CHUNK = 500
GENERATE_NAME_RETRIES = 8
# etcd's default --max-request-bytes (1.5 MiB): no stored object may be larger, on any driver.
MAX_STORED_BYTES = 1536 * 1024
# metadata the server owns: a client cannot change these on update.
SYSTEM_META = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation")


def _strip_rv(obj: Obj, to_storage: Callable[[Obj], Obj] | None = None) -> bytes:
    meta = obj.get("metadata") or {}
    if "resourceVersion" in meta:
        obj = dict(obj, metadata={k: v for k, v in meta.items() if k != "resourceVersion"})
    if to_storage is not None:
        obj = to_storage(obj)
    data = orjson.dumps(obj)
    if len(data) > MAX_STORED_BYTES:  # what is stored, whatever the body was (aliases, patches)
        raise errors.too_large("etcdserver: request is too large")
    return data


class GenericStore:
    def __init__(self, rt: ResourceType, storage: Storage, registry: Registry | None = None) -> None:
        self.resource = rt
        self.storage = storage
        self.registry = registry
        self.strategy = rt.strategy
        # Go's typed decoding applies (custom resources are unstructured: their schema answers instead).
        self.typed = getattr(rt.strategy, "typed_decode", True)
        self.prefix, self.to_storage, self.from_storage = storage_layout(rt)
        self._cache: WatchCache | None = None
        # The newest revision this server wrote under the prefix: cached reads wait for the cache to reach it.
        self.written = 0

    # --- keys and encoding ---------------------------------------------------------------

    def key(self, namespace: str, name: str) -> str:
        if self.resource.namespaced:
            return f"{self.prefix}{namespace}/{name}"
        return self.prefix + name

    def list_prefix(self, namespace: str) -> str:
        return f"{self.prefix}{namespace}/" if self.resource.namespaced and namespace else self.prefix

    def decode(self, kv: KeyValue) -> Obj:
        obj: Obj = orjson.loads(kv.value)
        if self.from_storage is not None:
            obj = self.from_storage(obj)
        meta = obj.setdefault("metadata", {})
        meta["resourceVersion"] = str(kv.mod_revision)
        obj["kind"] = self.resource.kind
        obj["apiVersion"] = self.resource.api_version
        return obj

    def _not_found(self, name: str) -> StatusError:
        return errors.not_found(self.resource.plural, name, self.resource.group)

    def _conflict(self, name: str, detail: str = "") -> StatusError:
        return errors.conflict(self.resource.plural, name, self.resource.group, detail)

    def _invalid(self, name: str, errs: list[Any]) -> StatusError:
        return to_status_error(self.resource.kind, name, errs, self.resource.group)

    def _wrote(self, kv: KeyValue) -> None:
        self.written = max(self.written, kv.mod_revision)

    # --- hooks ---------------------------------------------------------------------------

    async def before_create(self, obj: Obj, opts: WriteOptions) -> None:
        """Subclasses allocate resources here (raise StatusError to refuse)."""

    async def after_create_failed(self, obj: Obj) -> None:
        """Undo ``before_create`` allocations."""

    async def before_update(self, new: Obj, old: Obj, opts: WriteOptions, subresource: str) -> None:
        """Subclasses check or carry over fields here."""

    async def after_update(self, new: Obj, old: Obj) -> None:
        """The update is stored: release what ``old`` held and ``new`` no longer does."""

    async def after_delete(self, obj: Obj) -> None:
        """Release what the object held."""

    async def graceful_delete(self, obj: Obj, opts: DeleteOptions) -> bool:
        """Set graceful-deletion fields on ``obj``; True to keep it (written) instead of deleting."""
        return False

    # --- reads ---------------------------------------------------------------------------

    async def get(self, namespace: str, name: str, *, resource_version: str = "") -> Obj:
        kv = await self.storage.get(self.key(namespace, name))
        if kv is None:
            raise self._not_found(name)
        return self.decode(kv)

    async def get_json(self, namespace: str, name: str) -> bytes | None:
        """``get``'s answer already encoded as JSON (``orjson.dumps(await get(...))``), or None where this
        store cannot (a subclass that reads or decodes its own way).  The read is the same storage read;
        when a running watch cache holds the object at the very revision read, its shared encoding
        (see ``list_json``) is the answer instead of a decode and an encode."""
        cls = type(self)
        if cls.get is not GenericStore.get or cls.decode is not GenericStore.decode:
            return None
        kv = await self.storage.get(self.key(namespace, name))
        if kv is None:
            raise self._not_found(name)
        cache = self._cache
        hit = cache.stored_json(kv.key, kv.mod_revision) if cache is not None and cache.ready.is_set() else None
        return orjson.dumps(hit[1] if hit is not None else self.decode(kv))

    def _filter(self, label_selector: str, field_selector: str) -> Callable[[Obj], bool]:
        lsel = labels.parse_or_400(label_selector) if label_selector else None
        allowed = ["metadata.name", "metadata.namespace", *self.strategy.field_selectors]
        fsel = fields.parse(field_selector, allowed) if field_selector else None
        extra = self.strategy.field_selectors
        if lsel is None and fsel is None:
            return lambda _obj: True

        def match(obj: Obj) -> bool:
            meta = obj.get("metadata") or {}
            if lsel is not None and not lsel.matches(meta.get("labels") or {}):
                return False
            return fsel is None or fsel.matches(fields.object_getter(obj, extra))

        return match

    async def list(self, namespace: str, opts: ListOptions) -> Obj:
        def convert(kv: KeyValue) -> tuple[Obj, Obj]:
            obj = self.decode(kv)
            return obj, obj

        meta, items = await self._collect(namespace, opts, convert)
        return {"kind": self.resource.list_kind, "apiVersion": self.resource.api_version,
                "metadata": meta, "items": items}

    async def list_json(self, namespace: str, opts: ListOptions) -> bytes | None:
        """``list``'s answer already encoded as JSON (what ``orjson.dumps(await list(...))`` gives),
        or None where this store cannot (a subclass that lists or decodes its own way).

        The read is the same storage read as ``list`` (consistent, as upstream's), but an object the
        watch cache holds at the very revision read is not decoded and encoded again: its encoding,
        made once per object version, is joined into the answer (as kube-apiserver's cacher shares
        one serialization per object).  Other objects are decoded and encoded here."""
        cls = type(self)
        if cls.list is not GenericStore.list or cls.decode is not GenericStore.decode:
            return None
        cache = self.watch_cache()
        await cache.ensure_started()

        def convert(kv: KeyValue) -> tuple[Any, ...]:
            hit = cache.stored_json(kv.key, kv.mod_revision)
            if hit is None:
                obj = self.decode(kv)
                return obj, orjson.Fragment(orjson.dumps(obj))
            return hit

        meta, items = await self._collect(namespace, opts, convert)
        return orjson.dumps({"kind": self.resource.list_kind, "apiVersion": self.resource.api_version,
                             "metadata": meta, "items": items})

    async def _collect(self, namespace: str, opts: ListOptions,
                       convert: Callable[[KeyValue], tuple[Any, ...]]) -> tuple[Obj, Items]:
        """The list's metadata and items: ``convert`` gives each stored value's object (matched against
        the selectors) and the item to answer with, as the first two of a tuple."""
        match = self._filter(opts.label_selector, opts.field_selector)
        revision, start = await self._list_position(opts)
        prefix = self.list_prefix(namespace)
        items: Items = []
        limit = opts.limit if opts.limit > 0 else 0
        filtered = bool(opts.label_selector or opts.field_selector)
        more, remaining = False, None
        last_key = start
        try:
            while True:
                want = limit - len(items) if limit else 0
                # With a selector, read ahead in chunks so a rare match does not cost one read per item.
                chunk = max(want, LIST_CHUNK) if (want and filtered) else want
                res = await self.storage.list(prefix, revision=revision, limit=chunk, start_after=last_key)
                revision = res.revision
                more, remaining = res.more, res.remaining
                for i, kv in enumerate(res.items):
                    converted = convert(kv)
                    last_key = kv.key
                    if match(converted[0]):
                        items.append(converted[1])
                        if limit and len(items) >= limit:
                            more = more or i < len(res.items) - 1
                            break
                if not limit or not res.more or len(items) >= limit:
                    break
        except CompactedError:
            if opts.continue_token:
                raise objectmeta.continue_expired() from None
            raise errors.gone(f"too old resource version: {opts.resource_version}") from None
        except FutureRevisionError as exc:
            raise StatusError(504, "Timeout", f"Too large resource version: {exc.requested}, "
                                              f"current resource version: {exc.current}",
                              retry_after_seconds=1) from None
        meta: Obj = {"resourceVersion": str(revision)}
        if more:
            meta["continue"] = objectmeta.encode_continue(last_key, revision)
            if remaining is not None and not opts.label_selector and not opts.field_selector:
                meta["remainingItemCount"] = remaining
        return meta, items

    async def _list_position(self, opts: ListOptions) -> tuple[int, str]:
        if opts.continue_token:
            start, revision = objectmeta.decode_continue(opts.continue_token)
            return revision, start
        rv = opts.resource_version
        if rv and rv != "0" and opts.resource_version_match == "Exact":
            return objectmeta.parse_rv(rv), ""
        if rv and rv != "0":
            wanted = objectmeta.parse_rv(rv)
            current = await self.storage.current_revision()
            if wanted > current:
                raise StatusError(504, "Timeout", f"Too large resource version: {wanted}, current resource "
                                                  f"version: {current}", retry_after_seconds=1)
        return 0, ""

    # --- create --------------------------------------------------------------------------

    def _admit_namespace(self, namespace: str, obj: Obj) -> None:
        meta = obj.setdefault("metadata", {})
        if not self.resource.namespaced:
            meta.pop("namespace", None)
            return
        body_ns = meta.get("namespace") or ""
        if body_ns and namespace and body_ns != namespace:
            raise errors.bad_request("the namespace of the provided object does not match the namespace sent "
                                     "on the request")
        ns = namespace or body_ns
        if not ns:
            raise errors.bad_request("an empty namespace may not be set during creation")
        meta["namespace"] = ns

    async def create(self, namespace: str, obj: Obj, opts: WriteOptions) -> Obj:
        obj = json_copy(obj)
        self._admit_namespace(namespace, obj)
        meta = obj["metadata"]
        if self.registry is not None and self.resource.namespaced:
            await self.registry.admit_namespace(meta["namespace"], self.resource.plural, meta.get("name", ""),
                                                self.resource.group)
        generated = not meta.get("name") and bool(meta.get("generateName"))
        if not meta.get("name") and not generated:
            raise self._invalid("", [_required_name()])
        self._default_new(obj)
        await self._admit(admission.CREATE, obj, None, opts)
        for attempt in range(GENERATE_NAME_RETRIES):
            candidate = json_copy(obj) if generated else obj
            if generated:
                candidate["metadata"]["name"] = objectmeta.generate_name(meta["generateName"])
            try:
                return await self._create_one(candidate, opts)
            except StatusError as exc:
                if not (generated and exc.reason == "AlreadyExists" and attempt < GENERATE_NAME_RETRIES - 1):
                    raise
        raise AssertionError("unreachable")

    def _default_new(self, obj: Obj) -> None:
        """What decoding does to a create body: type it, drop server-owned metadata, default it."""
        meta = obj["metadata"]
        obj["kind"] = self.resource.kind
        obj["apiVersion"] = self.resource.api_version
        for k in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            meta.pop(k, None)
        self.strategy.default(obj)

    async def _admit(self, operation: str, obj: Obj, old: Obj | None, opts: WriteOptions, *,
                     subresource: str = "", validating: bool = False) -> None:
        """The registry's admission chain (mutating, or ``validating``) for this resource (plugins
        see subresource writes too, as upstream's, and most ignore them)."""
        if self.registry is None:
            return
        attrs = admission.Attributes(operation, self.resource.group, self.resource.plural, obj, old,
                                     subresource=subresource, user=opts.user, groups=opts.groups,
                                     dry_run=opts.dry_run, warnings=opts.warnings)
        if validating:
            await self.registry.validate(attrs)
        else:
            await self.registry.admit(attrs)

    async def _prepare_new(self, obj: Obj, opts: WriteOptions) -> None:
        meta = obj["metadata"]
        self.strategy.prepare_for_create(obj)
        objectmeta.drop_empty(meta)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = objectmeta.now_rfc3339()
        if self.strategy.tracks_generation:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        goshape.normalize(obj, self.resource.schema)  # times and embedded ObjectMeta as Go writes them
        errs = self.strategy.validate(obj)
        if errs:
            raise self._invalid(meta.get("name", ""), errs)
        await self._admit(admission.CREATE, obj, None, opts, validating=True)
        opts.warnings.extend(self.strategy.warnings(obj))
        self._record_managed(None, obj, opts, "")

    def _record_managed(self, old: Obj | None, new: Obj, opts: WriteOptions, subresource: str) -> None:
        if not self.resource.schema or not opts.field_manager:
            return
        try:
            from pyk8s.machinery.apply import record_update

            record_update(old, new, opts.field_manager, schema_name=self.resource.schema, subresource=subresource)
        except StatusError:
            raise
        except Exception:  # noqa: BLE001 - ownership bookkeeping must never fail a write
            pass

    async def _create_one(self, obj: Obj, opts: WriteOptions) -> Obj:
        await self._prepare_new(obj, opts)
        meta = obj["metadata"]
        await self.before_create(obj, opts)
        if opts.dry_run:
            if await self.storage.get(self.key(meta.get("namespace", ""), meta["name"])) is not None:
                await self.after_create_failed(obj)
                raise errors.already_exists(self.resource.plural, meta["name"], self.resource.group)
            await self.after_create_failed(obj)
            return obj
        try:
            kv = await self.storage.create(self.key(meta.get("namespace", ""), meta["name"]),
                                          _strip_rv(obj, self.to_storage))
        except KeyExistsError:
            await self.after_create_failed(obj)
            raise errors.already_exists(self.resource.plural, meta["name"], self.resource.group) from None
        except BaseException:
            await self.after_create_failed(obj)
            raise
        self._created(obj)
        self._wrote(kv)
        meta["resourceVersion"] = str(kv.mod_revision)
        return obj

    def _created(self, obj: Obj) -> None:
        """The write succeeded: forget in-flight bookkeeping."""

    # --- update --------------------------------------------------------------------------

    def allow_create_on_update(self) -> bool:
        return self.strategy.allow_create_on_update

    async def update(self, namespace: str, name: str, obj: Obj, opts: WriteOptions,
                     *, subresource: str = "") -> tuple[Obj, bool]:
        body = json_copy(obj)
        want_rv = str((body.get("metadata") or {}).get("resourceVersion") or "")
        key = self.key(namespace, name)
        for _ in range(UPDATE_RETRIES):
            kv = await self.storage.get(key)
            if kv is None:
                if self.allow_create_on_update() and not subresource:
                    body.setdefault("metadata", {})["name"] = name
                    return await self.create(namespace, body, opts), True
                raise self._not_found(name)
            old = self.decode(kv)
            if want_rv and want_rv != str(kv.mod_revision):
                raise self._conflict(name)
            if not want_rv and not self.strategy.allow_unconditional_update:
                raise self._invalid(name, [_rv_required()])
            new = json_copy(body)
            try:
                return await self._write_update(kv, old, new, opts, subresource), False
            except RevisionConflictError:
                if want_rv:
                    raise self._conflict(name) from None
        raise self._conflict(name)

    async def _prepare_update(self, old: Obj, new: Obj, opts: WriteOptions, subresource: str) -> Obj:
        name = old["metadata"]["name"]
        meta = new.setdefault("metadata", {})
        old_meta = old["metadata"]
        if meta.get("name", name) != name:
            raise errors.bad_request(f'the name of the object ({meta.get("name")}) does not match the name on the '
                                     f'URL ({name})')
        meta["name"] = name
        if self.resource.namespaced:
            meta["namespace"] = old_meta.get("namespace", "")
        else:
            meta.pop("namespace", None)
        new["kind"], new["apiVersion"] = self.resource.kind, self.resource.api_version
        for k in SYSTEM_META:
            if k in old_meta:
                meta[k] = old_meta[k]
            else:
                meta.pop(k, None)
        meta["resourceVersion"] = old_meta["resourceVersion"]
        if subresource == "status":
            await self._admit(admission.UPDATE, new, old, opts, subresource=subresource)
            self.strategy.prepare_for_status_update(new, old)
            errs = self.strategy.validate_status_update(new, old)
        elif subresource and subresource != "scale":
            await self._admit(admission.UPDATE, new, old, opts, subresource=subresource)
            self._prepare_subresource(new, old, subresource)
            errs = self.strategy.validate_update(new, old)
        else:  # the whole object, or its scale (a spec write that managedFields record as "scale")
            self.strategy.default(new)
            await self._admit(admission.UPDATE, new, old, opts, subresource=subresource)
            self.strategy.prepare_for_update(new, old)
            errs = self.strategy.validate_update(new, old)
            if self.strategy.tracks_generation and self.strategy.spec_changed(new, old):
                meta["generation"] = int(old_meta.get("generation") or 1) + 1
        goshape.normalize(new, self.resource.schema)
        meta = new["metadata"]
        objectmeta.drop_empty(meta)
        if errs:
            raise self._invalid(name, errs)
        await self._admit(admission.UPDATE, new, old, opts, subresource=subresource, validating=True)
        await self.before_update(new, old, opts, subresource)
        if not subresource:
            opts.warnings.extend(self.strategy.warnings(new))
        self._record_managed(old, new, opts, subresource)
        return new

    def _prepare_subresource(self, new: Obj, old: Obj, subresource: str) -> None:
        """Other PUT subresources (namespaces/finalize): keep everything but what they own."""
        if subresource == "finalize":
            spec = dict(old.get("spec") or {})
            spec["finalizers"] = list((new.get("spec") or {}).get("finalizers") or [])
            meta = new["metadata"]
            new.clear()
            new.update(copy.deepcopy(old))
            new["metadata"] = meta
            new["spec"] = spec
            return
        raise errors.method_not_allowed()

    async def _write_update(self, kv: KeyValue, old: Obj, new: Obj, opts: WriteOptions, subresource: str) -> Obj:
        new = await self._prepare_update(old, new, opts, subresource)
        meta = new["metadata"]
        if self.delete_on_update(new):
            return await self._delete_now(kv, new, opts.dry_run)
        if new == old and not getattr(kv, "stale", False):
            # A no-op update does not bump the resourceVersion, as upstream; a value read with an older
            # encryption key (storage.encryption) is rewritten anyway, which is how re-encryption works.
            return old
        if opts.dry_run:
            return new
        try:
            out = await self.storage.update(kv.key, _strip_rv(new, self.to_storage), expected_revision=kv.mod_revision)
        except KeyNotFoundError:  # deleted since it was read: the retry reads again and answers 404
            raise RevisionConflictError(kv.key, None) from None
        self._wrote(out)
        meta["resourceVersion"] = str(out.mod_revision)
        await self.after_update(new, old)
        return new

    def delete_on_update(self, new: Obj) -> bool:
        """An update that empties the finalizers of an object whose deletion is due removes it."""
        meta = new["metadata"]
        return bool(meta.get("deletionTimestamp")) and not meta.get("finalizers") \
            and meta.get("deletionGracePeriodSeconds") == 0

    async def raw_update(self, namespace: str, name: str, mutate: Callable[[Obj], Obj | None], *,
                         dry_run: bool = False) -> Obj:
        """A guarded read-modify-write that skips the strategy (bindings, internal bookkeeping)."""
        key = self.key(namespace, name)
        for _ in range(UPDATE_RETRIES):
            kv = await self.storage.get(key)
            if kv is None:
                raise self._not_found(name)
            new = mutate(self.decode(kv))
            if new is None or dry_run:
                return new if new is not None else self.decode(kv)
            try:
                out = await self.storage.update(key, _strip_rv(new, self.to_storage), expected_revision=kv.mod_revision)
            except RevisionConflictError:
                continue
            self._wrote(out)
            new["metadata"]["resourceVersion"] = str(out.mod_revision)
            return new
        raise self._conflict(name)

    async def guaranteed_update(self, namespace: str, name: str, mutate: Mutator, *,
                                opts: WriteOptions | None = None, subresource: str = "",
                                precondition_rv: str = "") -> Obj:
        """Read, ``mutate(copy)`` (return the new object, or None to leave it), write at that
        revision; retried on a revision conflict.  For patches and internal callers."""
        opts = opts or WriteOptions()
        key = self.key(namespace, name)
        for _ in range(UPDATE_RETRIES):
            kv = await self.storage.get(key)
            if kv is None:
                raise self._not_found(name)
            old = self.decode(kv)
            if precondition_rv and precondition_rv != old["metadata"]["resourceVersion"]:
                raise self._conflict(name)
            result = mutate(self.decode(kv))  # a second decoding: a fresh copy, faster than copying
            if hasattr(result, "__await__"):
                result = await result  # type: ignore[misc]
            if result is None:
                return old
            try:
                return await self._write_update(kv, old, result, opts, subresource)  # type: ignore[arg-type]
            except RevisionConflictError:
                if precondition_rv:
                    raise self._conflict(name) from None
        raise self._conflict(name)

    # --- patch ---------------------------------------------------------------------------

    async def patch(self, namespace: str, name: str, patch_type: str, patch: Any, opts: WriteOptions,
                    *, subresource: str = "") -> tuple[Obj, bool]:
        if patch_type == APPLY_PATCH:
            return await self._apply(namespace, name, patch, opts, subresource)
        precondition = ""
        if isinstance(patch, dict) and isinstance(patch.get("metadata"), dict):
            precondition = str(patch["metadata"].get("resourceVersion") or "")

        def mutate(current: Obj) -> Obj:
            rv = current["metadata"]["resourceVersion"]
            new = self._apply_patch(current, patch_type, patch)
            if not isinstance(new, dict):
                raise errors.bad_request("the patch did not produce an object")
            if new.get("metadata") is None:  # null decodes to an empty ObjectMeta, as in Go
                new["metadata"] = {}
            if self.resource.schema and self.typed:  # a result that does not decode (metadata: "x") is a 422 first
                typecheck.check_patched(new, self.resource.schema)
            new_rv = str((new.get("metadata") or {}).get("resourceVersion") or "")
            if new_rv and new_rv != rv:
                raise self._conflict(name)
            new.setdefault("metadata", {})["resourceVersion"] = rv
            if self.resource.schema:
                if opts.field_validation != "Ignore":
                    opts.warnings.extend(fieldcheck.check(new, self.resource.schema, opts.field_validation))
                fieldcheck.prune_unknown_fields(new, self.resource.schema)
            return new

        obj = await self.guaranteed_update(namespace, name, mutate, opts=opts, subresource=subresource,
                                           precondition_rv=precondition)
        return obj, False

    def _apply_patch(self, current: Obj, patch_type: str, patch: Any) -> Any:
        if patch_type == JSON_PATCH:
            return apply_json_patch(current, patch)
        if patch_type == MERGE_PATCH:
            return apply_merge_patch(current, patch)
        if patch_type == STRATEGIC_PATCH:
            if not self.resource.schema:
                raise StatusError(415, "UnsupportedMediaType",
                                  f"the body of the request was in an unknown format - accepted media types "
                                  f"include: {JSON_PATCH}, {MERGE_PATCH}, {APPLY_PATCH}")
            return apply_strategic(current, patch, self.resource.schema)
        raise errors.unsupported_media_type(patch_type)

    async def _apply(self, namespace: str, name: str, config: Obj, opts: WriteOptions,
                     subresource: str) -> tuple[Obj, bool]:
        from pyk8s.machinery.apply import apply as ssa

        if not opts.field_manager:
            raise errors.bad_request('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                                     "is required for apply patch")
        if not isinstance(config, dict):
            raise errors.bad_request("invalid apply configuration")
        schema = self.resource.schema
        if schema and self.typed:  # before anything reads the configuration (metadata: "x" must be a 400)
            group, _, version = self.resource.api_version.rpartition("/")
            typecheck.check_apply_config(config, schema, f"{group}/{version}, Kind={self.resource.kind}")
        kv = await self.storage.get(self.key(namespace, name))
        if kv is None and not subresource:
            cfg = copy.deepcopy(config)
            meta = cfg.setdefault("metadata", {})
            if meta.get("name", name) != name:
                raise errors.bad_request(f"the name of the object ({meta.get('name')}) does not match the name "
                                         f"on the URL ({name})")
            meta["name"] = name
            created = ssa(None, cfg, opts.field_manager, force=opts.force, schema_name=schema,
                          api_version=self.resource.api_version)
            inner = WriteOptions(dry_run=opts.dry_run, field_validation=opts.field_validation,
                                 warnings=opts.warnings, user=opts.user)
            try:
                return await self.create(namespace, created, inner), True
            except StatusError as exc:
                if exc.reason != "AlreadyExists":
                    raise
        precondition = str((config.get("metadata") or {}).get("resourceVersion") or "")

        def mutate(current: Obj) -> Obj:
            rv = current["metadata"]["resourceVersion"]
            new = ssa(current, config, opts.field_manager, force=opts.force, schema_name=schema,
                      api_version=self.resource.api_version, subresource=subresource)
            new.setdefault("metadata", {})["resourceVersion"] = rv
            return new

        inner = WriteOptions(dry_run=opts.dry_run, field_validation=opts.field_validation, warnings=opts.warnings,
                             user=opts.user)
        obj = await self.guaranteed_update(namespace, name, mutate, opts=inner, subresource=subresource,
                                           precondition_rv=precondition)
        return obj, False

    # --- delete --------------------------------------------------------------------------

    def _check_preconditions(self, obj: Obj, pre: dict[str, str]) -> None:
        meta = obj["metadata"]
        name = meta.get("name", "")
        uid = pre.get("uid")
        if uid and uid != meta.get("uid"):
            raise self._conflict(name, f"Precondition failed: UID in precondition: {uid}, UID in object meta: "
                                       f"{meta.get('uid')}")
        rv = pre.get("resourceVersion")
        if rv and rv != meta.get("resourceVersion"):
            raise self._conflict(name, f"Precondition failed: ResourceVersion in precondition: {rv}, "
                                       f"ResourceVersion in object meta: {meta.get('resourceVersion')}")

    def _policy_finalizer(self, opts: DeleteOptions) -> str:
        policy = opts.propagation_policy
        if not policy and opts.orphan_dependents is not None:
            policy = "Orphan" if opts.orphan_dependents else "Background"
        return {"Orphan": "orphan", "Foreground": "foregroundDeletion"}.get(policy, "")

    async def delete(self, namespace: str, name: str, opts: DeleteOptions) -> Obj:
        key = self.key(namespace, name)
        for _ in range(UPDATE_RETRIES):
            kv = await self.storage.get(key)
            if kv is None:
                raise self._not_found(name)
            obj = self.decode(kv)
            self._check_preconditions(obj, opts.preconditions)
            await admit_delete(self.registry, self.resource.group, self.resource.plural, obj, opts.dry_run,
                               opts.warnings)
            try:
                out, removed = await self._delete_one(kv, obj, opts)
            except RevisionConflictError:
                continue
            except KeyNotFoundError:
                raise self._not_found(name) from None
            return out if not removed or self.returns_deleted_object() else self._deleted_status(out)
        raise self._conflict(name)

    def returns_deleted_object(self) -> bool:
        """Upstream's ``ReturnDeletedObject``: these stores answer a delete with the object; the others
        answer with a Status of Success once the object is gone (and with the object while a grace
        period or finalizers hold it)."""
        return self.strategy.return_deleted_object

    def _deleted_status(self, obj: Obj) -> Obj:
        meta = obj.get("metadata") or {}
        details: Obj = {"name": meta.get("name", "")}
        if self.resource.group:
            details["group"] = self.resource.group
        details["kind"] = self.resource.plural  # upstream fills kind with the resource
        if meta.get("uid"):
            details["uid"] = meta["uid"]
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}

    async def _delete_one(self, kv: KeyValue, obj: Obj, opts: DeleteOptions) -> tuple[Obj, bool]:
        old = json_copy(obj)
        meta = obj["metadata"]
        finalizer = self._policy_finalizer(opts)
        finalizers = list(meta.get("finalizers") or [])
        if finalizer and finalizer not in finalizers and (finalizers or not meta.get("deletionTimestamp")):
            other = {"orphan": "foregroundDeletion", "foregroundDeletion": "orphan"}[finalizer]
            finalizers = [f for f in finalizers if f != other] + [finalizer]
        keep = await self.graceful_delete(obj, opts)
        if finalizers or keep:
            if finalizers:
                meta["finalizers"] = finalizers
                meta.setdefault("deletionTimestamp", objectmeta.now_rfc3339())
                meta.setdefault("deletionGracePeriodSeconds", 0)
            if obj == old:
                return obj, False
            if opts.dry_run:
                return obj, False
            out = await self.storage.update(kv.key, _strip_rv(obj, self.to_storage), expected_revision=kv.mod_revision)
            self._wrote(out)
            meta["resourceVersion"] = str(out.mod_revision)
            return obj, False
        return await self._delete_now(kv, obj, opts.dry_run), True

    async def _delete_now(self, kv: KeyValue, obj: Obj, dry_run: bool) -> Obj:
        if dry_run:
            return obj
        deleted = await self.storage.delete(kv.key, expected_revision=kv.mod_revision)
        self._wrote(deleted)
        # Upstream answers with the object as deleted: its resourceVersion is the deletion's revision.
        obj["metadata"]["resourceVersion"] = str(deleted.mod_revision)
        await self.after_delete(obj)
        return obj

    async def delete_collection(self, namespace: str, list_opts: ListOptions, opts: DeleteOptions) -> Obj:
        listed = await self.list(namespace, ListOptions(label_selector=list_opts.label_selector,
                                                        field_selector=list_opts.field_selector))
        items = []
        for obj in listed["items"]:
            meta = obj["metadata"]
            try:
                out = await self.delete(meta.get("namespace", ""), meta["name"], opts)
            except StatusError as exc:
                if exc.code != 404:
                    raise
                continue
            items.append(obj if out.get("kind") == "Status" else out)
        listed["items"] = items
        return listed

    # --- watch ---------------------------------------------------------------------------

    def watch_cache(self) -> WatchCache:
        if self._cache is None:
            self._cache = WatchCache(self.storage, self.prefix, self.decode)
        return self._cache

    def _bookmark(self, revision: int) -> Obj:
        return {"kind": self.resource.kind, "apiVersion": self.resource.api_version,
                "metadata": {"resourceVersion": str(revision)}}

    def watch(self, namespace: str, opts: WatchOptions) -> AsyncIterator[WatchEvent]:
        match = self._filter(opts.label_selector, opts.field_selector)  # 400s before streaming
        flt = Filter(self.list_prefix(namespace), match)
        rv = opts.resource_version
        after: int | None = None
        initial_wanted = opts.send_initial_events
        if rv and rv != "0" and not initial_wanted:
            after = objectmeta.parse_rv(rv)
        elif initial_wanted is False:
            after = None

        async def initial() -> tuple[list[Obj], int]:
            lst = await self.list(namespace, ListOptions(label_selector=opts.label_selector,
                                                          field_selector=opts.field_selector))
            return lst["items"], int(lst["metadata"]["resourceVersion"])

        if initial_wanted is False and after is None:
            return self._watch_from_now(flt, opts)
        return self.watch_cache().watch(flt, after=after, initial=initial, bookmarks=opts.allow_bookmarks,
                                        initial_end_bookmark=bool(initial_wanted and opts.allow_bookmarks),
                                        timeout=opts.timeout_seconds, bookmark_object=self._bookmark)

    async def _watch_from_now(self, flt: Filter, opts: WatchOptions) -> AsyncIterator[WatchEvent]:
        current = await self.storage.current_revision()
        async for ev in self.watch_cache().watch(flt, after=current, initial=None, bookmarks=opts.allow_bookmarks,
                                                 timeout=opts.timeout_seconds, bookmark_object=self._bookmark):
            yield ev

    async def close(self) -> None:
        if self._cache is not None:
            await self._cache.close()


def _required_name() -> Any:
    from pyk8s.machinery.validation import required

    return required("metadata.name", "name or generateName is required")


def _rv_required() -> Any:
    from pyk8s.machinery.validation import invalid

    return invalid("metadata.resourceVersion", 0, "must be specified for an update")
