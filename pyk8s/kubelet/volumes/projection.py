"""File payloads of the API-backed volumes: configMap, secret, downwardAPI, projected.

Each builder turns a volume source into ``{relative path: FileProjection}``
for the atomic writer, with upstream's rules and messages:

* all keys (ConfigMap ``data`` and ``binaryData``, Secret ``data``) or just
  ``items`` (``key`` -> ``path`` with an optional ``mode``); ``defaultMode``
  0644; a missing object is ``configmap "x" not found`` / ``secret "x" not
  found`` unless ``optional``; a missing item key is ``configmap references
  non-existent config key: k`` / ``references non-existent secret key: k``;
* downwardAPI items read pod metadata and container resources;
* with ``fsGroup`` every file is group-owned and group-readable (mode | 0440);
* projected merges its sources, and ``serviceAccountToken`` comes from
  TokenRequest (bound to the pod, ``expirationSeconds`` 3600 by default)
  through ``TokenCache``, which asks again once 80 % of a token's lifetime
  (or 24 h) has passed, so resyncing the volume refreshes it in time.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pyk8s.api.core_v1.helpers import timestamps
from pyk8s.kubelet.kuberuntime import fieldpath
from pyk8s.kubelet.kuberuntime.sources import ObjectNotFound, ObjectSource
from pyk8s.kubelet.volumes.atomicwriter import FileProjection
from pyk8s.util.clock import Clock

Obj = dict[str, Any]
Payload = dict[str, FileProjection]
DEFAULT_MODE = 0o644
DEFAULT_TOKEN_SECONDS = 3600
REFRESH_FRACTION = 0.8
MAX_TOKEN_AGE = datetime.timedelta(hours=24)


class ProjectionError(Exception):
    """The volume's content cannot be produced (becomes a FailedMount)."""


@dataclass(frozen=True)
class PodContext:
    pod: Obj
    sources: ObjectSource
    allocatable: Mapping[str, str]
    fs_group: int | None

    @property
    def namespace(self) -> str:
        return (self.pod.get("metadata") or {}).get("namespace", "")


def file_for(data: bytes, mode: int, gid: int | None) -> FileProjection:
    """A file of the volume; with an fsGroup it is group-owned and group-readable (SetVolumeOwnership)."""
    return FileProjection(data, mode | 0o440 if gid is not None else mode, gid)


def _items(all_data: dict[str, bytes], source: Obj, mode: int, gid: int | None, missing: str) -> Payload:
    items = source.get("items") or []
    if not items:
        return {k: file_for(v, mode, gid) for k, v in all_data.items()}
    out: Payload = {}
    for item in items:
        key = item.get("key", "")
        if key not in all_data:
            if source.get("optional"):
                continue
            raise ProjectionError(f"{missing}: {key}")
        out[item.get("path") or key] = file_for(all_data[key], int(item.get("mode") or mode), gid)
    return out


async def configmap_payload(ctx: PodContext, source: Obj, default_mode: int | None = None) -> Payload:
    mode = int(source.get("defaultMode") or default_mode or DEFAULT_MODE)
    try:
        cm = await ctx.sources.get_configmap(ctx.namespace, source.get("name", ""))
    except ObjectNotFound as exc:
        if source.get("optional"):
            return {}
        raise ProjectionError(str(exc)) from None
    data = {k: str(v).encode() for k, v in (cm.get("data") or {}).items()}
    data.update({k: base64.b64decode(v) for k, v in (cm.get("binaryData") or {}).items()})
    return _items(data, source, mode, ctx.fs_group, "configmap references non-existent config key")


async def secret_payload(ctx: PodContext, source: Obj, default_mode: int | None = None,
                         name_field: str = "secretName") -> Payload:
    mode = int(source.get("defaultMode") or default_mode or DEFAULT_MODE)
    try:
        secret = await ctx.sources.get_secret(ctx.namespace, source.get(name_field, ""))
    except ObjectNotFound as exc:
        if source.get("optional"):
            return {}
        raise ProjectionError(str(exc)) from None
    data = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
    return _items(data, source, mode, ctx.fs_group, "references non-existent secret key")


def downward_payload(ctx: PodContext, source: Obj, default_mode: int | None = None) -> Payload:
    mode = int(source.get("defaultMode") or default_mode or DEFAULT_MODE)
    out: Payload = {}
    try:
        for item in source.get("items") or []:
            if item.get("fieldRef"):
                value = fieldpath.pod_field(ctx.pod, item["fieldRef"].get("fieldPath", ""), fieldpath.PodNetwork())
            elif item.get("resourceFieldRef"):
                ref = item["resourceFieldRef"]
                ctr = fieldpath.find_container(ctx.pod, ref.get("containerName", "")) or {}
                value = fieldpath.resource_value(ref, ctr, ctx.allocatable)
            else:
                continue
            out[item.get("path", "")] = file_for(value.encode(), int(item.get("mode") or mode), ctx.fs_group)
    except fieldpath.FieldPathError as exc:
        raise ProjectionError(str(exc)) from None
    return out


class TokenCache:
    """ServiceAccount tokens per (pod, account, audience, lifetime), refreshed at 80 % of their life."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._tokens: dict[tuple[str, ...], tuple[str, datetime.datetime, datetime.datetime]] = {}

    async def token(self, ctx: PodContext, source: Obj) -> str:
        meta, spec = ctx.pod.get("metadata") or {}, ctx.pod.get("spec") or {}
        account = spec.get("serviceAccountName") or "default"
        audiences = [source["audience"]] if source.get("audience") else []
        seconds = int(source.get("expirationSeconds") or DEFAULT_TOKEN_SECONDS)
        key = (meta.get("uid", ""), account, ",".join(audiences), str(seconds))
        now = self.clock.now()
        cached = self._tokens.get(key)
        if cached is not None and not self._needs_refresh(cached[1], cached[2], now):
            return cached[0]
        status = await ctx.sources.request_token(
            ctx.namespace, account, audiences=audiences, expiration_seconds=seconds,
            pod_name=meta.get("name", ""), pod_uid=meta.get("uid", ""))
        expires = timestamps.parse_time(status.get("expirationTimestamp")) or now + datetime.timedelta(seconds=seconds)
        self._tokens[key] = (str(status.get("token", "")), now, expires)
        return self._tokens[key][0]

    @staticmethod
    def _needs_refresh(issued: datetime.datetime, expires: datetime.datetime, now: datetime.datetime) -> bool:
        ttl = expires - issued
        return now >= issued + ttl * REFRESH_FRACTION or now - issued > MAX_TOKEN_AGE

    def forget_pod(self, uid: str) -> None:
        for key in [k for k in self._tokens if k[0] == uid]:
            del self._tokens[key]


async def projected_payload(ctx: PodContext, source: Obj, tokens: TokenCache) -> Payload:
    """The projected volume's files.  Its sources are fetched concurrently (a pod's TokenRequest and its
    kube-root-ca.crt GET overlap instead of queueing one behind the other at the API server) and merged in
    the order the spec lists them."""
    mode = int(source.get("defaultMode") or DEFAULT_MODE)
    parts = await asyncio.gather(*(_projected_item(ctx, item, mode, tokens) for item in source.get("sources") or []),
                                 return_exceptions=True)
    out: Payload = {}
    errors: list[str] = []
    for part in parts:
        if isinstance(part, ProjectionError):
            errors.append(str(part))
        elif isinstance(part, BaseException):
            raise part
        else:
            out.update(part)
    if errors:
        raise ProjectionError(errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]")
    return out


async def _projected_item(ctx: PodContext, item: Obj, mode: int, tokens: TokenCache) -> Payload:
    if item.get("configMap"):
        return await configmap_payload(ctx, item["configMap"], mode)
    if item.get("secret"):
        return await secret_payload(ctx, item["secret"], mode, name_field="name")
    if item.get("downwardAPI"):
        return downward_payload(ctx, item["downwardAPI"], mode)
    if item.get("serviceAccountToken"):
        sat = item["serviceAccountToken"]
        token = await tokens.token(ctx, sat)
        # With an fsGroup the token is not world-readable: 0600 plus the group's read bit.
        token_mode = 0o600 if ctx.fs_group is not None else mode
        return {sat.get("path", "token"): file_for(token.encode(), token_mode, ctx.fs_group)}
    return {}
