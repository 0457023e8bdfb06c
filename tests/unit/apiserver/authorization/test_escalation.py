from __future__ import annotations

from pyk8s.apiserver.authorization.escalation import compact_string, missing_rules
from pyk8s.apiserver.authorization.rules import Rule, compile_rules


def rules(*dicts: dict[str, object]) -> list[Rule]:
    return list(compile_rules(dicts))


def test_covered_by_exact_and_wildcards() -> None:
    owner = rules({"verbs": ["*"], "apiGroups": [""], "resources": ["pods", "*/status"]},
                  {"verbs": ["get"], "nonResourceURLs": ["/logs/*"]})
    assert missing_rules(owner, rules({"verbs": ["get", "delete"], "apiGroups": [""], "resources": ["pods"]})) == []
    assert missing_rules(owner, rules({"verbs": ["update"], "apiGroups": [""], "resources": ["nodes/status"]})) == []
    assert missing_rules(owner, rules({"verbs": ["get"], "nonResourceURLs": ["/logs/a"]})) == []
    missing = missing_rules(owner, rules({"verbs": ["get"], "apiGroups": ["", "apps"], "resources": ["pods"]}))
    assert [compact_string(m) for m in missing] == ['{APIGroups:["apps"], Resources:["pods"], Verbs:["get"]}']


def test_resource_names_narrow_what_is_held() -> None:
    owner = rules({"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"], "resourceNames": ["a"]})
    assert missing_rules(owner, rules({"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"],
                                       "resourceNames": ["a"]})) == []
    assert missing_rules(owner, rules({"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]}))


def test_compact_string_is_upstreams() -> None:
    r = Rule.from_dict({"verbs": ["list", "get"], "apiGroups": [""], "resources": ["nodes"],
                        "resourceNames": ["n1"]})
    assert compact_string(r) == ('{APIGroups:[""], Resources:["nodes"], ResourceNames:["n1"], '
                                 'Verbs:["get" "list"]}')
    assert compact_string(Rule.from_dict({"verbs": ["*"], "nonResourceURLs": ["*"]})) == \
        '{NonResourceURLs:["*"], Verbs:["*"]}'


def test_gc_only_updates_skip_the_check() -> None:
    from pyk8s.apiserver.registry.rbac import only_gc_fields_changed

    old = {"metadata": {"name": "r", "ownerReferences": [{"uid": "1"}]}, "rules": [{"verbs": ["get"]}]}
    gc = {"metadata": {"name": "r"}, "rules": [{"verbs": ["get"]}]}
    assert only_gc_fields_changed(gc, old)
    assert not only_gc_fields_changed({**gc, "rules": [{"verbs": ["*"]}]}, old)
    assert not only_gc_fields_changed(gc, None)
