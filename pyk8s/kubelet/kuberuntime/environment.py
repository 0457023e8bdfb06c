"""A container's environment, resolved the way upstream's ``makeEnvironmentVariables`` does.

Order of precedence: ``envFrom`` sources in order (with ``prefix``), then
``env`` entries in order (a literal value has its ``$(VAR)`` references
expanded against the variables so far and the service variables; a
``valueFrom`` is resolved from a ConfigMap, Secret, pod field or resource),
then the service variables for names not already set.

Failures raise ``ConfigError`` carrying upstream's message, which the runtime
manager reports as CreateContainerConfigError: ``configmap "x" not found``,
``couldn't find key k in ConfigMap ns/x`` (and the Secret equivalents).  An
``optional`` reference that is missing is skipped.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pyk8s.kubelet import envvars
from pyk8s.kubelet.kuberuntime import expansion, fieldpath
from pyk8s.kubelet.kuberuntime.sources import ObjectNotFound, ObjectSource

Obj = dict[str, Any]


class ConfigError(Exception):
    """The container's configuration cannot be generated (CreateContainerConfigError)."""


@dataclass
class EnvContext:
    """What env resolution needs besides the pod: API objects, addresses, node allocatable."""

    sources: ObjectSource
    network: fieldpath.PodNetwork = field(default_factory=fieldpath.PodNetwork)
    allocatable: Mapping[str, str] = field(default_factory=dict)


class _Cache:
    """Each ConfigMap/Secret is read once per container, as upstream's local maps do."""

    def __init__(self, ctx: EnvContext, namespace: str) -> None:
        self.ctx, self.namespace = ctx, namespace
        self.configmaps: dict[str, Obj] = {}
        self.secrets: dict[str, Obj] = {}

    async def data(self, kind: str, name: str) -> dict[str, str]:
        """String data of a ConfigMap/Secret; raises ObjectNotFound."""
        if kind == "configmap":
            if name not in self.configmaps:
                self.configmaps[name] = await self.ctx.sources.get_configmap(self.namespace, name)
            return dict(self.configmaps[name].get("data") or {})
        if name not in self.secrets:
            self.secrets[name] = await self.ctx.sources.get_secret(self.namespace, name)
        return decode_secret_data(self.secrets[name])


def decode_secret_data(secret: Obj) -> dict[str, str]:
    return {k: base64.b64decode(v).decode("utf-8", "replace") for k, v in (secret.get("data") or {}).items()}


async def make_environment(pod: Obj, container: Obj, ctx: EnvContext) -> dict[str, str]:
    spec = pod.get("spec") or {}
    namespace = (pod.get("metadata") or {}).get("namespace", "")
    services = envvars.services_for_pod(await ctx.sources.list_services(), namespace,
                                        spec.get("enableServiceLinks", True) is not False)
    service_env = envvars.from_services(services)
    cache = _Cache(ctx, namespace)
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        env.update(await _env_from(source, cache))
    # The mapping reads ``env`` live: a reference sees every variable declared before it.
    lookup = expansion.mapping_for(env, service_env)
    for var in container.get("env") or []:
        value = await _env_value(var, pod, container, cache, lookup)
        if value is not None:
            env[var["name"]] = value
    for key, value in service_env.items():
        env.setdefault(key, value)
    return env


async def _env_from(source: Obj, cache: _Cache) -> dict[str, str]:
    ref, kind = (source["configMapRef"], "configmap") if source.get("configMapRef") else (source.get("secretRef"), "secret")
    if not ref:
        return {}
    try:
        data = await cache.data(kind, ref.get("name", ""))
    except ObjectNotFound as exc:
        if ref.get("optional"):
            return {}
        raise ConfigError(str(exc)) from None
    prefix = source.get("prefix") or ""
    return {prefix + k: v for k, v in data.items()}


async def _env_value(var: Obj, pod: Obj, container: Obj, cache: _Cache,
                     lookup: expansion.Mapping_) -> str | None:
    """The value of one ``env`` entry, or None when an optional reference is missing."""
    value = var.get("value") or ""
    source = var.get("valueFrom")
    if value or not source:
        return expansion.expand(value, lookup)
    try:
        if source.get("fieldRef"):
            return fieldpath.pod_field(pod, source["fieldRef"].get("fieldPath", ""), cache.ctx.network)
        if source.get("resourceFieldRef"):
            return _resource(source["resourceFieldRef"], pod, container, cache.ctx)
    except fieldpath.FieldPathError as exc:
        raise ConfigError(str(exc)) from None
    for key, kind, label in (("configMapKeyRef", "configmap", "ConfigMap"), ("secretKeyRef", "secret", "Secret")):
        if source.get(key):
            return await _key_ref(source[key], kind, label, cache)
    return ""


def _resource(ref: Obj, pod: Obj, container: Obj, ctx: EnvContext) -> str:
    target = container
    if ref.get("containerName"):
        target = fieldpath.find_container(pod, ref["containerName"]) or container
    return fieldpath.resource_value(ref, target, ctx.allocatable)


async def _key_ref(ref: Obj, kind: str, label: str, cache: _Cache) -> str | None:
    name, key, optional = ref.get("name", ""), ref.get("key", ""), bool(ref.get("optional"))
    try:
        data = await cache.data(kind, name)
    except ObjectNotFound as exc:
        if optional:
            return None
        raise ConfigError(str(exc)) from None
    if key not in data:
        if optional:
            return None
        raise ConfigError(f"couldn't find key {key} in {label} {cache.namespace}/{name}")
    return data[key]
