from __future__ import annotations

import pytest
from multidict import MultiDict

from pyk8s.apiserver.endpoints import negotiation, params
from pyk8s.apiserver.endpoints.paths import parse_resource, split_group_version
from pyk8s.machinery.errors import StatusError

KUBECTL_TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
KUBECTL_DISCOVERY = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
                     "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json")


def test_table_negotiation():
    assert negotiation.table_version(KUBECTL_TABLE) == "v1"
    assert negotiation.table_version("application/json;as=Table;v=v1beta1;g=meta.k8s.io") == "v1beta1"
    assert negotiation.table_version("application/json") is None
    assert negotiation.table_version("application/json, application/json;as=Table;v=v1;g=meta.k8s.io") is None
    assert negotiation.table_version("") is None


def test_discovery_negotiation():
    assert negotiation.discovery_version(KUBECTL_DISCOVERY) == "v2"
    assert negotiation.discovery_version(KUBECTL_DISCOVERY.split(",", 1)[1]) == "v2beta1"
    assert negotiation.discovery_version("application/json, */*") is None


def test_decode_object_by_media_type():
    assert negotiation.decode_object("", b'{"a":1}') == {"a": 1}
    assert negotiation.decode_object("application/yaml", b"a: 1\n") == {"a": 1}
    for ctype, body, code in [("application/json", b"{", 400), ("text/plain", b"{}", 415),
                              ("application/json", b"", 400), ("application/yaml", b"- 1\n", 400)]:
        with pytest.raises(StatusError) as err:
            negotiation.decode_object(ctype, body)
        assert err.value.code == code


def test_go_durations():
    assert params.go_duration("9m51s") == 591
    assert params.go_duration("32s") == 32
    assert params.go_duration("1h0m0.5s") == 3600.5
    assert params.go_duration("250ms") == 0.25
    with pytest.raises(StatusError):
        params.go_duration("5 minutes")


def test_watch_and_write_options():
    q = MultiDict(timeoutSeconds="30", allowWatchBookmarks="true", resourceVersion="5")
    opts = params.watch_options(q)
    assert (opts.timeout_seconds, opts.allow_bookmarks, opts.resource_version) == (30.0, True, "5")
    assert params.watch_options(MultiDict(timeout="1m")).timeout_seconds == 60
    default = params.watch_options(MultiDict()).timeout_seconds
    assert params.MIN_REQUEST_TIMEOUT <= default <= 2 * params.MIN_REQUEST_TIMEOUT
    w = params.write_options(MultiDict(fieldManager="m", fieldValidation="Strict", force="true"), ["All"], "u")
    assert (w.field_manager, w.field_validation, w.force, w.dry_run, w.user) == ("m", "Strict", True, True, "u")
    with pytest.raises(StatusError):
        params.write_options(MultiDict(), ["Some"], "u")


def test_delete_options_body_overrides_query():
    opts = params.delete_options(MultiDict(propagationPolicy="Orphan", gracePeriodSeconds="3"), [],
                                 {"propagationPolicy": "Background", "preconditions": {"uid": "u1"}})
    assert (opts.propagation_policy, opts.grace_period_seconds, opts.preconditions) == ("Background", 3, {"uid": "u1"})
    with pytest.raises(StatusError):
        params.delete_options(MultiDict(), [], {"kind": "Pod"})


def test_resource_paths():
    g, v, rest = split_group_version(["apis", "apps", "v1", "namespaces", "d", "deployments", "w", "scale"])
    rp = parse_resource(g, v, rest, "")
    assert (rp.group, rp.namespace, rp.plural, rp.name, rp.subresource) == ("apps", "d", "deployments", "w", "scale")
    ns = parse_resource("", "v1", ["namespaces", "kube-system", "finalize"], "")
    assert (ns.plural, ns.name, ns.subresource) == ("namespaces", "kube-system", "finalize")
    watch = parse_resource("", "v1", ["watch", "pods"], "")
    assert watch.watch and watch.plural == "pods" and not watch.namespaced_form
    with pytest.raises(StatusError):
        parse_resource("", "v1", ["namespaces", "d", "pods", "x", "log", "extra"], "")


def test_prune_unknown_fields_keeps_declared_and_free_form():
    import pyk8s.api  # noqa: F401
    from pyk8s.machinery.fieldcheck import prune_unknown_fields

    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "bogus": 1,
              "metadata": {"name": "d", "labels": {"a.b/c": "x"}, "nope": 2},
              "spec": {"replicas": 1, "foo": True,
                       "template": {"spec": {"containers": [{"name": "c", "image": "i", "bar": 3}]}}}}
    prune_unknown_fields(deploy, "io.k8s.api.apps.v1.Deployment")
    assert deploy == {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "labels": {"a.b/c": "x"}},
                      "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}}
