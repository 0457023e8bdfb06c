"""The extension servers' groups merged into ``/apis``: the legacy APIGroupList and APIGroup documents
(from the APIServices, versions ordered by versionPriority) and the aggregated APIGroupDiscoveryList
(resources from each server's APIResourceList, read by the availability check; ``Stale`` when the last
check failed)."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]


def _gv(group: str, version: str) -> str:
    return f"{group}/{version}"


def groups_of(apiservices: list[Obj]) -> dict[str, list[Obj]]:
    """group -> its APIServices, versions in priority order; groups in priority order."""
    by_group: dict[str, list[Obj]] = {}
    for svc in sorted(apiservices, key=lambda s: (-int(s["spec"].get("groupPriorityMinimum") or 0),
                                                  -int(s["spec"].get("versionPriority") or 0),
                                                  s["spec"].get("version") or "")):
        by_group.setdefault(str(svc["spec"]["group"]), []).append(svc)
    return by_group


def api_group(group: str, services: list[Obj]) -> Obj:
    versions = [{"groupVersion": _gv(group, s["spec"]["version"]), "version": s["spec"]["version"]}
                for s in services]
    return {"name": group, "versions": versions, "preferredVersion": versions[0]}


def merge_group_list(doc: Obj, by_group: dict[str, list[Obj]]) -> Obj:
    known = {g["name"] for g in doc.get("groups") or []}
    doc["groups"] = list(doc.get("groups") or []) + [api_group(g, s) for g, s in by_group.items() if g not in known]
    return doc


def _aggregated_resources(group: str, version: str, resource_list: Obj | None) -> list[Obj]:
    if not resource_list:
        return []
    entries = [r for r in resource_list.get("resources") or [] if isinstance(r, dict)]
    out: dict[str, Obj] = {}
    for r in entries:
        name = str(r.get("name") or "")
        if "/" in name:
            continue
        entry: Obj = {"resource": name,
                      "responseKind": {"group": r.get("group", group), "version": r.get("version", version),
                                       "kind": r.get("kind", "")},
                      "scope": "Namespaced" if r.get("namespaced") else "Cluster",
                      "singularResource": r.get("singularName") or "", "verbs": list(r.get("verbs") or [])}
        for key in ("shortNames", "categories"):
            if r.get(key):
                entry[key] = list(r[key])
        out[name] = entry
    for r in entries:
        name = str(r.get("name") or "")
        parent, _, sub = name.partition("/")
        if sub and parent in out:
            out[parent].setdefault("subresources", []).append({
                "subresource": sub, "verbs": list(r.get("verbs") or []),
                "responseKind": {"group": r.get("group", group), "version": r.get("version", version),
                                 "kind": r.get("kind", "")}})
    return list(out.values())


def merge_aggregated(doc: Obj, by_group: dict[str, list[Obj]], resource_lists: dict[tuple[str, str], Obj | None],
                     available: dict[tuple[str, str], bool]) -> Obj:
    known = {item["metadata"]["name"] for item in doc.get("items") or []}
    items = list(doc.get("items") or [])
    for group, services in by_group.items():
        if group in known:
            continue
        versions = []
        for s in services:
            version = s["spec"]["version"]
            versions.append({"version": version,
                             "resources": _aggregated_resources(group, version, resource_lists.get((group, version))),
                             "freshness": "Current" if available.get((group, version)) else "Stale"})
        items.append({"metadata": {"name": group, "creationTimestamp": None}, "versions": versions})
    doc["items"] = items
    return doc
