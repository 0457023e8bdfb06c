"""The audit policy (``--audit-policy-file``): an ``audit.k8s.io/v1`` ``Policy`` and how a request is matched.

As upstream's policy checker: the rules are tried in order and the first that matches gives the
request's level (``None``, ``Metadata``, ``Request`` or ``RequestResponse``), its omitted stages (the
rule's and the policy's) and whether managedFields are left out of the logged objects (the rule's
``omitManagedFields`` when set, else the policy's); a request no rule matches is not audited.  A rule
matches when every field it sets matches: ``users``, ``userGroups`` (any of the user's groups),
``verbs``, and then either the resource fields (``namespaces``, ``""`` for cluster-scoped objects;
``resources`` by group with ``resources`` as ``name``, ``name/sub``, ``*``, ``*/sub`` or ``name/*`` and
optional ``resourceNames``) that only resource requests match, or ``nonResourceURLs`` (exact, ``*``
or a trailing ``*``) that only other paths match.  Requests whose authentication failed match no rule
that names users or groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pyk8s.apiserver.authentication.user import UserInfo
from pyk8s.apiserver.authorization.attributes import Attributes

NONE, METADATA, REQUEST, REQUEST_RESPONSE = "None", "Metadata", "Request", "RequestResponse"
LEVELS = (NONE, METADATA, REQUEST, REQUEST_RESPONSE)
RECEIVED, STARTED, COMPLETE, PANIC = "RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"
STAGES = (RECEIVED, STARTED, COMPLETE, PANIC)
API_VERSION = "audit.k8s.io/v1"


@dataclass(frozen=True, slots=True)
class GroupResources:
    group: str = ""
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()

    def matches(self, resource: str, subresource: str, name: str) -> bool:
        if not self.resources:
            return True
        if self.resource_names and name not in self.resource_names:
            return False
        combined = f"{resource}/{subresource}" if subresource else resource
        for spec in self.resources:
            if spec in ("*", combined):
                return True
            if subresource and spec.startswith("*/") and spec[2:] == subresource:
                return True
            if spec.endswith("/*") and spec[:-2] == resource:
                return True
        return False


@dataclass(frozen=True, slots=True)
class Rule:
    level: str
    users: frozenset[str] = frozenset()
    user_groups: frozenset[str] = frozenset()
    verbs: frozenset[str] = frozenset()
    resources: tuple[GroupResources, ...] = ()
    namespaces: frozenset[str] = frozenset()
    non_resource_urls: tuple[str, ...] = ()
    omit_stages: frozenset[str] = frozenset()
    omit_managed_fields: bool | None = None

    def matches(self, user: UserInfo | None, attrs: Attributes) -> bool:
        if self.users and (user is None or user.username not in self.users):
            return False
        if self.user_groups and (user is None or self.user_groups.isdisjoint(user.groups)):
            return False
        if self.verbs and attrs.verb not in self.verbs:
            return False
        if self.namespaces or self.resources:
            return self._matches_resource(attrs)
        if self.non_resource_urls:
            return not attrs.resource_request and any(_path_matches(attrs.path, s) for s in self.non_resource_urls)
        return True

    def _matches_resource(self, attrs: Attributes) -> bool:
        if not attrs.resource_request:
            return False
        if self.namespaces and attrs.namespace not in self.namespaces:
            return False
        if not self.resources:
            return True
        return any(gr.group == attrs.api_group and gr.matches(attrs.resource, attrs.subresource, attrs.name)
                   for gr in self.resources)


def _path_matches(path: str, spec: str) -> bool:
    return spec in ("*", path) or (spec.endswith("*") and path.startswith(spec.rstrip("*")))


@dataclass(frozen=True, slots=True)
class RequestConfig:
    """What one request is audited with."""

    level: str
    omit_stages: frozenset[str] = frozenset()
    omit_managed_fields: bool = False


NOT_AUDITED = RequestConfig(NONE)


@dataclass(frozen=True, slots=True)
class Policy:
    rules: tuple[Rule, ...]
    omit_stages: frozenset[str] = frozenset()
    omit_managed_fields: bool = False

    def evaluate(self, user: UserInfo | None, attrs: Attributes) -> RequestConfig:
        for rule in self.rules:
            if rule.matches(user, attrs):
                if rule.level == NONE:
                    return NOT_AUDITED
                omit = rule.omit_managed_fields
                return RequestConfig(rule.level, rule.omit_stages | self.omit_stages,
                                     self.omit_managed_fields if omit is None else omit)
        return NOT_AUDITED


# --- reading and validating the file ---------------------------------------------------------------


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: must be a list of strings")
    return tuple(value)


def _stages(value: Any, where: str) -> frozenset[str]:
    stages = _strings(value, where)
    for i, stage in enumerate(stages):
        if stage not in STAGES:
            raise ValueError(f'{where}[{i}]: Unsupported value: "{stage}": supported values: '
                             + ", ".join(f'"{s}"' for s in STAGES))
    return frozenset(stages)


def _group_resources(value: Any, where: str) -> tuple[GroupResources, ...]:
    out = []
    for j, item in enumerate(value or []):
        here = f"{where}[{j}]"
        if not isinstance(item, dict):
            raise ValueError(f"{here}: must be an object")
        group = item.get("group") or ""
        if not isinstance(group, str) or "/" in group:
            raise ValueError(f'{here}.group: Invalid value: "{group}": group name must not contain "/"')
        resources = _strings(item.get("resources"), f"{here}.resources")
        names = _strings(item.get("resourceNames"), f"{here}.resourceNames")
        if names and any(r == "*" or r.startswith("*/") for r in resources):
            raise ValueError(f"{here}.resourceNames: Invalid value: {list(names)}: "
                             "using resourceNames with wildcard resources is not allowed")
        out.append(GroupResources(group, resources, names))
    return tuple(out)


def _rule(raw: Any, i: int) -> Rule:
    where = f"rules[{i}]"
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: must be an object")
    level = raw.get("level", "")
    if level not in LEVELS:
        raise ValueError(f'{where}.level: Unsupported value: "{level}": supported values: '
                         + ", ".join(f'"{lv}"' for lv in LEVELS))
    urls = _strings(raw.get("nonResourceURLs"), f"{where}.nonResourceURLs")
    resources = _group_resources(raw.get("resources"), f"{where}.resources")
    namespaces = _strings(raw.get("namespaces"), f"{where}.namespaces")
    if urls and (resources or namespaces):
        raise ValueError(f"{where}.nonResourceURLs: Invalid value: {list(urls)}: "
                         "rules cannot apply to both regular resources and non-resource URLs")
    for url in urls:
        if url != "*" and not url.startswith("/"):
            raise ValueError(f'{where}.nonResourceURLs: Invalid value: "{url}": '
                             "non-resource URL rules must begin with a '/' character")
        if "*" in url[:-1]:
            raise ValueError(f'{where}.nonResourceURLs: Invalid value: "{url}": '
                             "non-resource URL wildcards '*' must be the final character of the rule")
    omit = raw.get("omitManagedFields")
    if omit is not None and not isinstance(omit, bool):
        raise ValueError(f"{where}.omitManagedFields: must be a boolean")
    return Rule(level=level, users=frozenset(_strings(raw.get("users"), f"{where}.users")),
                user_groups=frozenset(_strings(raw.get("userGroups"), f"{where}.userGroups")),
                verbs=frozenset(_strings(raw.get("verbs"), f"{where}.verbs")), resources=resources,
                namespaces=frozenset(namespaces), non_resource_urls=urls,
                omit_stages=_stages(raw.get("omitStages"), f"{where}.omitStages"), omit_managed_fields=omit)


def parse(doc: Any, source: str = "") -> Policy:
    """A ``Policy`` from its decoded document; ``ValueError`` in upstream's field-path style when invalid."""
    if not isinstance(doc, dict):
        raise ValueError(f"audit policy {source}: not an object")
    kind, version = doc.get("kind"), doc.get("apiVersion")
    if kind != "Policy" or version != API_VERSION:
        raise ValueError(f'audit policy {source}: no kind "{kind}" is registered for version "{version}" '
                         f'(expected kind "Policy" of "{API_VERSION}")')
    raw_rules = doc.get("rules") or []
    if not isinstance(raw_rules, list):
        raise ValueError(f"audit policy {source}: rules: must be a list")
    rules = tuple(_rule(r, i) for i, r in enumerate(raw_rules))
    if not rules:
        raise ValueError(f"loaded illegal policy with 0 rules from file {source}")
    omit = doc.get("omitManagedFields", False)
    if not isinstance(omit, bool):
        raise ValueError(f"audit policy {source}: omitManagedFields: must be a boolean")
    return Policy(rules, _stages(doc.get("omitStages"), "omitStages"), omit)


def load(path: str | Path) -> Policy:
    """Read ``--audit-policy-file`` (YAML or JSON)."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ValueError(f"failed to read audit policy file {path}: {exc.strerror or exc}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"failed decoding audit policy file {path}: {exc}") from None
    return parse(doc, str(path))


def levels_at_least(level: str, floor: str) -> bool:
    return LEVELS.index(level) >= LEVELS.index(floor)


__all__ = ["COMPLETE", "LEVELS", "METADATA", "NONE", "NOT_AUDITED", "PANIC", "RECEIVED", "REQUEST",
           "REQUEST_RESPONSE", "STAGES", "STARTED", "GroupResources", "Policy", "RequestConfig", "Rule", "load",
           "parse", "levels_at_least"]

