"""Whether a webhook is called for a request: rules, scope, namespaceSelector and objectSelector
(upstream's ``rules.Matcher``, ``namespace.Matcher`` and ``object.Matcher``).

Resources in rules are ``resource`` or ``resource/subresource``; ``*`` on either side matches any
(``*`` alone: every main resource, no subresource; ``*/*``: everything; ``pods/*``: pods and all its
subresources).  Scope ``Cluster`` matches cluster-scoped requests (namespaces themselves included),
``Namespaced`` namespaced ones.  A namespaceSelector is checked against the request's namespace's labels
(the Namespace object's own labels when the request is about a namespace) and does not apply to other
cluster-scoped objects; an objectSelector matches when the new or the old object's labels match.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyk8s.apiserver.registry import cachedreads
from pyk8s.machinery import labels

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry

Obj = dict[str, Any]


@dataclass(slots=True)
class Request:
    """The facts of one admission request the matchers look at."""

    operation: str
    group: str
    version: str
    resource: str
    subresource: str
    namespace: str
    namespaced: bool
    obj: Obj | None
    old: Obj | None


def _listed(values: Any, wanted: str) -> bool:
    return isinstance(values, list) and ("*" in values or wanted in values)


def _resource_matches(resources: Any, resource: str, subresource: str) -> bool:
    for item in resources or []:
        res, _, sub = str(item).partition("/")
        if (res == "*" or res == resource) and (sub == "*" or sub == subresource):
            return True
    return False


def rule_matches(rule: Obj, req: Request) -> bool:
    if not _listed(rule.get("operations"), req.operation):
        return False
    if not _listed(rule.get("apiGroups"), req.group) or not _listed(rule.get("apiVersions"), req.version):
        return False
    if not _resource_matches(rule.get("resources"), req.resource, req.subresource):
        return False
    scope = rule.get("scope") or "*"
    if scope == "Cluster":
        return not req.namespaced
    if scope == "Namespaced":
        return req.namespaced
    return True


def rules_match(hook: Obj, req: Request) -> bool:
    return any(isinstance(rule, dict) and rule_matches(rule, req) for rule in hook.get("rules") or [])


def _empty(selector: Any) -> bool:
    return not selector or (not selector.get("matchLabels") and not selector.get("matchExpressions"))


def _labels_of(obj: Obj | None) -> dict[str, str]:
    return dict(((obj or {}).get("metadata") or {}).get("labels") or {})


def object_selector_matches(hook: Obj, req: Request) -> bool:
    selector = hook.get("objectSelector")
    if _empty(selector):
        return True
    # An object without metadata (a CONNECT's options) has no labels to match, as upstream's accessor fails.
    return any(labels.matches_label_selector(selector, _labels_of(o)) for o in (req.obj, req.old)
               if o is not None and "metadata" in o)


async def namespace_selector_matches(hook: Obj, req: Request, registry: Registry) -> bool:
    selector = hook.get("namespaceSelector")
    if _empty(selector):
        return True
    if req.group == "" and req.resource == "namespaces" and not req.subresource:
        return labels.matches_label_selector(selector, _labels_of(req.obj or req.old))
    if not req.namespaced or not req.namespace:
        return True  # the selector does not apply to other cluster-scoped objects
    store = registry.store("", "namespaces")
    ns = None if store is None else await cachedreads.get(store, "", req.namespace)
    return ns is not None and labels.matches_label_selector(selector, _labels_of(ns))


async def matches(hook: Obj, req: Request, registry: Registry) -> bool:
    return (rules_match(hook, req) and object_selector_matches(hook, req)
            and await namespace_selector_matches(hook, req, registry))
