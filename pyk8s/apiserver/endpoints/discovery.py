"""Discovery documents, built from the scheme on every request.

Two forms, as kubectl-api.md §3 describes:

* legacy: ``/api`` (APIVersions), ``/apis`` (APIGroupList), ``/apis/<g>``
  (APIGroup), ``/api/v1`` and ``/apis/<g>/<v>`` (APIResourceList, with
  ``<plural>/<sub>`` entries for subresources);
* aggregated (apidiscovery.k8s.io v2 or v2beta1): ``/api`` and ``/apis`` as
  one APIGroupDiscoveryList, only when the Accept header asks for it.

The scheme can grow at run time (CRDs), so nothing here is cached.
Subresources that answer with another group's kind (scale, eviction, token)
say so, because kubectl reads those kinds from discovery.
"""

from __future__ import annotations

from typing import Any

from pyk8s.machinery.scheme import ResourceType, Scheme

Obj = dict[str, Any]

# subresource -> ((group, version, kind) or None for "the resource's own kind", verbs)
_SUB_KINDS: dict[str, tuple[tuple[str, str, str] | None, tuple[str, ...]]] = {
    "status": (None, ("get", "patch", "update")),
    "scale": (("autoscaling", "v1", "Scale"), ("get", "patch", "update")),
    "binding": (("", "v1", "Binding"), ("create",)),
    "eviction": (("policy", "v1", "Eviction"), ("create",)),
    "token": (("authentication.k8s.io", "v1", "TokenRequest"), ("create",)),
    "log": (("", "v1", "Pod"), ("get",)),
    "exec": (("", "v1", "PodExecOptions"), ("create", "get")),
    "attach": (("", "v1", "PodAttachOptions"), ("create", "get")),
    "portforward": (("", "v1", "PodPortForwardOptions"), ("create", "get")),
    "ephemeralcontainers": (None, ("get", "patch", "update")),
    "resize": (None, ("get", "patch", "update")),
    "finalize": (None, ("update",)),
    "approval": (None, ("get", "patch", "update")),
}
_PROXY_KINDS = {"Pod": "PodProxyOptions", "Service": "ServiceProxyOptions", "Node": "NodeProxyOptions"}
_PROXY_VERBS = ("create", "delete", "get", "patch", "update")


def subresource_kind(rt: ResourceType, sub: str) -> tuple[tuple[str, str, str], tuple[str, ...]]:
    """(group, version, kind) a subresource speaks, and its verbs."""
    if sub == "proxy":
        return ("", "v1", _PROXY_KINDS.get(rt.kind, "PodProxyOptions")), _PROXY_VERBS
    gvk, verbs = _SUB_KINDS.get(sub, (None, ("get",)))
    return gvk or (rt.group, rt.version, rt.kind), verbs


def _group_version(group: str, version: str) -> str:
    return f"{group}/{version}" if group else version


def api_versions(server_address: str) -> Obj:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def api_group(scheme: Scheme, group: str) -> Obj | None:
    versions = scheme.versions(group)
    if not group or not versions:
        return None
    entries = [{"groupVersion": _group_version(group, v), "version": v} for v in versions]
    return {"name": group, "versions": entries, "preferredVersion": entries[0]}


def api_group_list(scheme: Scheme) -> Obj:
    groups = [g for g in (api_group(scheme, name) for name in scheme.groups() if name) if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group_doc(scheme: Scheme, group: str) -> Obj | None:
    doc = api_group(scheme, group)
    if doc is None:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **doc}


def _legacy_resource(rt: ResourceType) -> Obj:
    entry: Obj = {"name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced, "kind": rt.kind,
                  "verbs": list(rt.verbs)}
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    return entry


def _legacy_subresource(rt: ResourceType, sub: str) -> Obj:
    (group, version, kind), verbs = subresource_kind(rt, sub)
    entry: Obj = {"name": f"{rt.plural}/{sub}", "singularName": "", "namespaced": rt.namespaced}
    if (group, version) != (rt.group, rt.version):
        entry["group"] = group
        entry["version"] = version
    entry["kind"] = kind
    entry["verbs"] = list(verbs)
    return entry


def api_resource_list(scheme: Scheme, group: str, version: str) -> Obj | None:
    resources = scheme.resources(group, version)
    if not resources and version not in scheme.versions(group):
        return None
    out: list[Obj] = []
    for rt in resources:
        out.append(_legacy_resource(rt))
        out.extend(_legacy_subresource(rt, sub) for sub in rt.subresources)
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": _group_version(group, version),
            "resources": out}


def _aggregated_resource(rt: ResourceType) -> Obj:
    entry: Obj = {
        "resource": rt.plural,
        "responseKind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
        "scope": "Namespaced" if rt.namespaced else "Cluster",
        "singularResource": rt.singular,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    subs = []
    for sub in rt.subresources:
        (group, version, kind), verbs = subresource_kind(rt, sub)
        subs.append({"subresource": sub, "responseKind": {"group": group, "version": version, "kind": kind},
                     "verbs": list(verbs)})
    if subs:
        entry["subresources"] = subs
    return entry


def _aggregated_group(scheme: Scheme, group: str) -> Obj:
    versions = [{"version": v, "resources": [_aggregated_resource(rt) for rt in scheme.resources(group, v)],
                 "freshness": "Current"} for v in scheme.versions(group)]
    return {"metadata": {"name": group, "creationTimestamp": None}, "versions": versions}


def aggregated(scheme: Scheme, *, legacy: bool, version: str) -> Obj:
    """``/api`` (legacy=True: the core group) or ``/apis`` (every named group)."""
    groups = [""] if legacy else [g for g in scheme.groups() if g]
    items = [_aggregated_group(scheme, g) for g in groups if scheme.versions(g)]
    return {"kind": "APIGroupDiscoveryList", "apiVersion": f"apidiscovery.k8s.io/{version}", "metadata": {},
            "items": items}


def aggregated_content_type(version: str) -> str:
    return f"application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList"
