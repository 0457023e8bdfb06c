"""ResourceQuota spec validation as upstream's ValidateResourceQuotaSpec: scopes against resources,
conflicting scopes, scope selector operators and values."""

import pyk8s.api  # noqa: F401
from pyk8s.api.core_v1.resourcequota import validate_quota_spec


def messages(spec: dict) -> list[str]:
    return [f"{e.field}: {e.detail}" for e in validate_quota_spec(spec)]


def test_scopes() -> None:
    assert messages({"hard": {"pods": "2", "cpu": "1"}, "scopes": ["NotBestEffort", "NotTerminating"]}) == []
    assert messages({"hard": {"cpu": "1"}, "scopes": ["BestEffort", "NotBestEffort"]}) == [
        'spec.scopes: []core.ResourceQuotaScope{"BestEffort", "NotBestEffort"}: unsupported scope applied to resource',
        'spec.scopes: []core.ResourceQuotaScope{"BestEffort", "NotBestEffort"}: conflicting scopes']
    assert messages({"hard": {"secrets": "1"}, "scopes": ["Terminating"]}) == [
        'spec.scopes: []core.ResourceQuotaScope{"Terminating"}: unsupported scope applied to resource']


def test_scope_selector() -> None:
    assert messages({"hard": {"pods": "1"}, "scopeSelector": {"matchExpressions": [
        {"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}]}}) == []
    got = messages({"hard": {"pods": "1"}, "scopeSelector": {"matchExpressions": [
        {"scopeName": "PriorityClass", "operator": "In"},
        {"scopeName": "Terminating", "operator": "In", "values": ["x"]},
        {"scopeName": "PriorityClass", "operator": "Exists", "values": ["x"]},
        {"scopeName": "PriorityClass", "operator": "Near", "values": ["x"]}]}})
    assert got == [
        "spec.scopeSelector.matchExpressions.values: must be at least one value when `operator` is 'In' or 'NotIn' "
        "for scope selector",
        "spec.scopeSelector.matchExpressions.operator: must be 'Exist' when scope is any of "
        "ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, "
        "ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity",
        'spec.scopeSelector.matchExpressions.values: []string{"x"}: must be no value when `operator` is \'Exist\' or '
        "'DoesNotExist' for scope selector",
        "spec.scopeSelector.matchExpressions.operator: not a valid selector operator",
    ]
