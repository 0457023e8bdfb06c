"""Serving one version of a custom resource: its strategy, its store, its scale subresource.

The store is the generic one (``registry/generic.py``); what differs lives here:

* ``CustomResourceStrategy`` applies the version's structural schema (defaults,
  pruning, validation) and its CEL rules, keeps status apart when the status
  subresource is on, and counts ``metadata.generation`` as upstream does;
* ``CustomResourceStore`` keeps every version at one key prefix
  (``/registry/<group>/<plural>/``) in the storage version: with conversion
  ``None`` only ``apiVersion`` changes on the way in and out; defaults are applied
  on read too, as upstream applies them to what it reads from etcd.  A strategic
  merge patch is a 415, as upstream (custom resources carry no patch strategy);
* ``CustomScale`` is the autoscaling/v1 Scale view through the CRD's
  ``specReplicasPath``/``statusReplicasPath``/``labelSelectorPath``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from pyk8s.api import meta_v1
from pyk8s.apiserver.apiextensions import cel, structural
from pyk8s.apiserver.printers.crd import evaluate as jsonpath
from pyk8s.apiserver.registry.generic import STRATEGIC_PATCH, GenericStore
from pyk8s.apiserver.registry.rest import WriteOptions
from pyk8s.machinery import errors
from pyk8s.machinery.errors import Cause, StatusError
from pyk8s.machinery.patch import apply_json_patch, apply_merge_patch
from pyk8s.machinery.scheme import ResourceType, Strategy
from pyk8s.machinery.validation import FieldError
from pyk8s.storage.interface import KeyValue

Obj = dict[str, Any]


@dataclass(slots=True)
class ServingState:
    """What the controller changes on a served CRD while its stores live (shared by its versions)."""

    terminating: bool = False
    crd_name: str = ""


@dataclass(slots=True)
class VersionInfo:
    group: str
    version: str
    kind: str
    plural: str
    storage_version: str
    schema: Obj
    rules: dict[int, list[cel.Rule]]
    status: bool
    scale: Obj | None
    selectable: list[str] = field(default_factory=list)
    conversion: str = "None"
    deprecated: bool = False
    deprecation_warning: str = ""
    successor: str = ""  # the newest served, not deprecated version newer than this one (for the warning)
    state: ServingState = field(default_factory=ServingState)
    defaulter: structural.Defaulter | None = None

    def __post_init__(self) -> None:
        self.defaulter = structural.compile_defaults(self.schema)

    def apply_defaults(self, obj: Obj) -> None:
        if self.defaulter is not None:
            self.defaulter.apply(obj)


def _selector_getter(path: str) -> Any:
    def get(obj: Obj) -> str:
        found = jsonpath(path, obj)
        if not found or found[0] is None:
            return ""
        value = found[0]
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return get


class CustomResourceStrategy(Strategy):
    #: The HTTP layer and the store skip Go's typed decoding: a custom object is unstructured,
    #: its schema errors are 422s from ``validate`` (as upstream), not decode errors.
    typed_decode = False
    #: No patch strategy in a CRD's schema: OpenAPI offers no strategic merge patch for the resource,
    #: so kubectl's client-side apply sends a merge patch, and a strategic one is a 415 (as upstream).
    strategic_merge = False

    def __init__(self, info: VersionInfo, namespaced: bool) -> None:
        self.info = info
        self.namespaced = namespaced
        self.has_status = info.status
        self.tracks_generation = True
        self.field_selectors = {path.lstrip("."): _selector_getter(path) for path in info.selectable}

    def default(self, obj: Obj) -> None:
        structural.prune(obj, self.info.schema, root=True)
        self.info.apply_defaults(obj)

    def spec_changed(self, new: Obj, old: Obj) -> bool:
        skip = ("metadata", "status") if self.has_status else ("metadata",)
        return {k: v for k, v in new.items() if k not in skip} != {k: v for k, v in old.items() if k not in skip}

    def _schema_errors(self, obj: Obj, old: Obj | None) -> list[FieldError]:
        errs = structural.validate(obj, self.info.schema)
        errs += cel.evaluate(obj, old, self.info.schema, self.info.rules, "", old is not None)
        return errs

    def validate(self, obj: Obj) -> list[FieldError]:
        return meta_v1.validate_object_meta(obj, namespaced=self.namespaced) + self._schema_errors(obj, None)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return meta_v1.validate_object_meta_update(new, old) + self._schema_errors(new, old)

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return meta_v1.validate_object_meta_update(new, old) + self._schema_errors(new, old)

    @property
    def request_warnings(self) -> list[str]:
        """The Warning every answer of a deprecated version carries (the HTTP layer adds it)."""
        return deprecation_warnings(self.info)


def deprecation_warnings(info: VersionInfo) -> list[str]:
    if not info.deprecated:
        return []
    if info.deprecation_warning:
        return [info.deprecation_warning]
    text = f"{info.group}/{info.version} {info.kind} is deprecated"
    if info.successor:
        text += f"; use {info.group}/{info.successor} {info.kind}"
    return [text]


class CustomResourceStore(GenericStore):
    def __init__(self, rt: ResourceType, storage: Any, registry: Any = None) -> None:
        super().__init__(rt, storage, registry)
        strategy = rt.strategy
        assert isinstance(strategy, CustomResourceStrategy)
        self.info = strategy.info
        self.prefix = f"/registry/{self.info.group}/{self.info.plural}/"
        storage_api = f"{self.info.group}/{self.info.storage_version}"
        if self.info.storage_version != self.info.version:
            self.to_storage = lambda obj: dict(obj, apiVersion=storage_api)
            self.from_storage = lambda obj: dict(obj, apiVersion=rt.api_version)

    def decode(self, kv: KeyValue) -> Obj:
        obj = super().decode(kv)
        self.info.apply_defaults(obj)
        return obj

    async def create(self, namespace: str, obj: Obj, opts: WriteOptions) -> Obj:
        if self.info.state.terminating:
            raise StatusError(405, "MethodNotAllowed",
                              "create not allowed while custom resource definition is terminating")
        return await super().create(namespace, obj, opts)

    def _apply_patch(self, current: Obj, patch_type: str, patch: Any) -> Any:
        if patch_type == STRATEGIC_PATCH:
            raise StatusError(415, "UnsupportedMediaType",
                              "the body of the request was in an unknown format - accepted media types include: "
                              "application/json-patch+json, application/merge-patch+json, "
                              "application/apply-patch+yaml")
        return super()._apply_patch(current, patch_type, patch)


# --- scale ---------------------------------------------------------------------------------


def _path_parts(path: str) -> list[str]:
    return [p for p in path.strip(".").split(".") if p]


def _get_path(obj: Obj, path: str) -> Any:
    cur: Any = obj
    for part in _path_parts(path):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def _set_path(obj: Obj, path: str, value: Any) -> None:
    parts = _path_parts(path)
    cur = obj
    for part in parts[:-1]:
        nxt = cur.get(part)
        if not isinstance(nxt, dict):
            nxt = cur[part] = {}
        cur = nxt
    cur[parts[-1]] = value


class CustomScale:
    """autoscaling/v1 Scale of a custom object, through its CRD's replica paths."""

    def __init__(self, store: CustomResourceStore) -> None:
        self.store = store
        self.paths: Obj = store.info.scale or {}

    def to_scale(self, obj: Obj) -> Obj:
        meta = obj.get("metadata") or {}
        scale_meta = {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                      if k in meta}
        status: Obj = {"replicas": int(_get_path(obj, self.paths.get("statusReplicasPath", "")) or 0)}
        selector_path = self.paths.get("labelSelectorPath")
        if selector_path:
            selector = _get_path(obj, selector_path)
            if isinstance(selector, str) and selector:
                status["selector"] = selector
        replicas = _get_path(obj, self.paths.get("specReplicasPath", ""))
        return {"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": scale_meta,
                "spec": {"replicas": int(replicas or 0)} if replicas is not None else {}, "status": status}

    async def get(self, namespace: str, name: str) -> Obj:
        return self.to_scale(await self.store.get(namespace, name))

    async def update(self, namespace: str, name: str, body: Obj, opts: WriteOptions) -> tuple[Obj, bool]:
        return await self._write(namespace, name, lambda _cur: body, opts), False

    async def patch(self, namespace: str, name: str, patch_type: str, doc: Any,
                    opts: WriteOptions) -> tuple[Obj, bool]:
        def make(current: Obj) -> Obj:
            if patch_type == "application/json-patch+json":
                return apply_json_patch(current, doc)
            if patch_type == "application/merge-patch+json":
                return apply_merge_patch(current, doc)
            raise StatusError(415, "UnsupportedMediaType",
                              f"the body of the request was in an unknown format - accepted media types include: "
                              f"application/json-patch+json, application/merge-patch+json (got \"{patch_type}\")")

        return await self._write(namespace, name, make, opts), False

    async def _write(self, namespace: str, name: str, make: Any, opts: WriteOptions) -> Obj:
        def mutate(obj: Obj) -> Obj:
            current = self.to_scale(obj)
            new = make(copy.deepcopy(current))
            replicas = (new.get("spec") or {}).get("replicas")
            if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
                raise errors.invalid("Scale", name, [Cause(
                    "FieldValueInvalid", f"Invalid value: {replicas}: must be greater than or equal to 0",
                    "spec.replicas")], group="autoscaling")
            wanted = (new.get("metadata") or {}).get("resourceVersion")
            if wanted and wanted != obj["metadata"]["resourceVersion"]:
                raise self.store._conflict(name)
            _set_path(obj, self.paths["specReplicasPath"], replicas)
            return obj

        result = await self.store.guaranteed_update(namespace, name, mutate, opts=opts)
        return self.to_scale(result)
