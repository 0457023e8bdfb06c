"""The audit policy: reading the file, and which rule (so which level) a request gets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pyk8s.apiserver.audit.policy import Policy, load, parse
from pyk8s.apiserver.authentication.user import UserInfo
from pyk8s.apiserver.authorization.attributes import request_attributes

ALICE = UserInfo("alice", ("devs", "system:authenticated"))
NODE = UserInfo("system:node:n1", ("system:nodes", "system:authenticated"))


def policy(*rules: dict[str, Any], **extra: Any) -> Policy:
    return parse({"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": list(rules), **extra})


def level(p: Policy, method: str, path: str, user: UserInfo | None = ALICE, **query: str) -> str:
    attrs = request_attributes(user or UserInfo(""), method, path, query)
    return p.evaluate(user, attrs).level


def test_the_first_matching_rule_wins_and_no_match_is_none() -> None:
    p = policy({"level": "None", "users": ["system:node:n1"]}, {"level": "RequestResponse", "verbs": ["create"]},
               {"level": "Metadata", "namespaces": ["default"]})
    assert level(p, "POST", "/api/v1/namespaces/default/pods", NODE) == "None"
    assert level(p, "POST", "/api/v1/namespaces/default/pods") == "RequestResponse"
    assert level(p, "GET", "/api/v1/namespaces/default/pods") == "Metadata"
    assert level(p, "GET", "/api/v1/namespaces/kube-system/pods") == "None"


def test_users_and_groups_need_a_user() -> None:
    p = policy({"level": "Request", "userGroups": ["devs"]}, {"level": "Metadata", "users": ["bob"]})
    assert level(p, "GET", "/api/v1/pods") == "Request"
    assert level(p, "GET", "/api/v1/pods", NODE) == "None"
    assert level(p, "GET", "/api/v1/pods", None) == "None"  # failed authentication: no user to match


def test_resources_groups_subresources_and_names() -> None:
    p = policy({"level": "RequestResponse", "resources": [{"group": "", "resources": ["pods/log"]}]},
               {"level": "Request", "resources": [{"group": "", "resources": ["*/status"]}]},
               {"level": "Metadata", "resources": [{"group": "apps", "resources": ["deployments/*"]}]},
               {"level": "Request", "resources": [{"group": "", "resources": ["configmaps"],
                                                   "resourceNames": ["cfg"]}]},
               {"level": "Metadata", "resources": [{"group": "batch"}]})
    assert level(p, "GET", "/api/v1/namespaces/d/pods/p/log") == "RequestResponse"
    assert level(p, "GET", "/api/v1/namespaces/d/pods/p") == "None"
    assert level(p, "PUT", "/api/v1/nodes/n/status") == "Request"
    assert level(p, "GET", "/apis/apps/v1/namespaces/d/deployments/x/scale") == "Metadata"
    assert level(p, "GET", "/apis/apps/v1/namespaces/d/deployments/x") == "Metadata"  # "deployments/*" too
    assert level(p, "GET", "/apis/extensions/v1beta1/namespaces/d/deployments/x") == "None"  # another group
    assert level(p, "GET", "/api/v1/namespaces/d/configmaps/cfg") == "Request"
    assert level(p, "GET", "/api/v1/namespaces/d/configmaps") == "None"  # resourceNames need a name
    assert level(p, "DELETE", "/apis/batch/v1/namespaces/d/jobs/j") == "Metadata"  # a group with no resources


def test_namespaces_match_cluster_scoped_objects_by_the_empty_string() -> None:
    p = policy({"level": "Request", "namespaces": [""]})
    assert level(p, "GET", "/api/v1/nodes") == "Request"
    assert level(p, "GET", "/api/v1/namespaces/default/pods") == "None"
    assert level(p, "GET", "/version") == "None"  # resource rules never match other paths


def test_non_resource_urls() -> None:
    p = policy({"level": "None", "nonResourceURLs": ["/healthz*", "/version"]},
               {"level": "Metadata", "nonResourceURLs": ["*"]})
    assert level(p, "GET", "/healthz/etcd") == "None"
    assert level(p, "GET", "/version") == "None"
    assert level(p, "GET", "/versions") == "Metadata"
    assert level(p, "GET", "/api/v1/pods") == "None"  # URL rules never match resource requests


def test_omitted_stages_and_managed_fields() -> None:
    p = policy({"level": "Request", "verbs": ["get"], "omitStages": ["ResponseStarted"], "omitManagedFields": False},
               {"level": "Metadata"}, omitStages=["RequestReceived"], omitManagedFields=True)
    attrs = request_attributes(ALICE, "GET", "/api/v1/namespaces/d/pods/p", {})
    first = p.evaluate(ALICE, attrs)
    assert first.omit_stages == {"RequestReceived", "ResponseStarted"} and first.omit_managed_fields is False
    other = p.evaluate(ALICE, request_attributes(ALICE, "POST", "/api/v1/namespaces/d/pods", {}))
    assert other.omit_stages == {"RequestReceived"} and other.omit_managed_fields is True


@pytest.mark.parametrize(("doc", "message"), [
    ({"apiVersion": "audit.k8s.io/v1beta1", "kind": "Policy", "rules": [{"level": "None"}]},
     'no kind "Policy" is registered for version "audit.k8s.io/v1beta1"'),
    ({"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": []}, "loaded illegal policy with 0 rules"),
    ({"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": [{"level": "Everything"}]},
     'rules[0].level: Unsupported value: "Everything": supported values: "None", "Metadata", "Request", '
     '"RequestResponse"'),
    ({"apiVersion": "audit.k8s.io/v1", "kind": "Policy",
      "rules": [{"level": "None", "nonResourceURLs": ["/x"], "namespaces": ["a"]}]},
     "rules cannot apply to both regular resources and non-resource URLs"),
    ({"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": [{"level": "None", "nonResourceURLs": ["x"]}]},
     "non-resource URL rules must begin with a '/' character"),
    ({"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": [{"level": "None", "omitStages": ["Later"]}]},
     'rules[0].omitStages[0]: Unsupported value: "Later"'),
])
def test_invalid_policies_are_refused(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as exc:
        parse(doc, "p.yaml")
    assert message in str(exc.value)


def test_load_reads_yaml(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n")
    assert load(path).rules[0].level == "Metadata"
    with pytest.raises(ValueError, match="failed to read audit policy file"):
        load(tmp_path / "missing.yaml")
