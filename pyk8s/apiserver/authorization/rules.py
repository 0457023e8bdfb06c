"""RBAC policy rules: whether one rule allows one request (upstream's ``RuleAllows``).

* verbs, apiGroups and resources match exactly or with ``*``; a resource rule
  ``pods/log`` matches the subresource, ``*/scale`` matches every ``scale``
  subresource, and ``*`` matches everything including subresources;
* ``resourceNames`` limits a rule to those names (a request without a name,
  such as a list or a create, never matches a rule that names objects);
* ``nonResourceURLs`` match exactly, or by prefix when they end in ``*``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pyk8s.apiserver.authorization.attributes import Attributes

Obj = dict[str, Any]
ALL = "*"


@dataclass(frozen=True, slots=True)
class Rule:
    verbs: frozenset[str]
    api_groups: frozenset[str]
    resources: tuple[str, ...]
    resource_names: frozenset[str]
    non_resource_urls: tuple[str, ...]

    @classmethod
    def from_dict(cls, rule: Obj) -> Rule:
        def strings(key: str) -> list[str]:
            value = rule.get(key) or []
            return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []

        return cls(frozenset(strings("verbs")), frozenset(strings("apiGroups")), tuple(strings("resources")),
                   frozenset(strings("resourceNames")), tuple(strings("nonResourceURLs")))

    def to_dict(self) -> Obj:
        out: Obj = {"verbs": sorted(self.verbs)}
        if self.non_resource_urls:
            out["nonResourceURLs"] = list(self.non_resource_urls)
            return out
        out["apiGroups"] = sorted(self.api_groups)
        out["resources"] = list(self.resources)
        if self.resource_names:
            out["resourceNames"] = sorted(self.resource_names)
        return out

    def verb_matches(self, verb: str) -> bool:
        return ALL in self.verbs or verb in self.verbs

    def resource_matches(self, combined: str, subresource: str) -> bool:
        for r in self.resources:
            if r == ALL or r == combined:
                return True
            if subresource and r.startswith("*/") and r[2:] == subresource:
                return True
        return False

    def url_matches(self, path: str) -> bool:
        for url in self.non_resource_urls:
            if url == ALL or url == path:
                return True
            if url.endswith("*") and path.startswith(url[:-1]):
                return True
        return False

    def allows(self, attrs: Attributes) -> bool:
        if not self.verb_matches(attrs.verb):
            return False
        if not attrs.resource_request:
            return self.url_matches(attrs.path)
        if not (ALL in self.api_groups or attrs.api_group in self.api_groups):
            return False
        if not self.resource_matches(attrs.combined_resource, attrs.subresource):
            return False
        return not self.resource_names or attrs.name in self.resource_names


def compile_rules(rules: Iterable[Any]) -> tuple[Rule, ...]:
    return tuple(Rule.from_dict(r) for r in rules if isinstance(r, dict))


def rules_allow(attrs: Attributes, rules: Iterable[Rule]) -> bool:
    return any(rule.allows(attrs) for rule in rules)
