"""Routing, verbs, codes and error shapes of the HTTP layer over a fake store."""

from __future__ import annotations

import orjson

from pyk8s.machinery import protobuf
from tests.integration.apiserver.conftest import AUTH

CM = "/api/v1/namespaces/default/configmaps"


def cm(name: str, **extra: object) -> bytes:
    return orjson.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "b"},
                         **extra})


async def status_of(resp) -> dict:
    assert resp.headers["Content-Type"].startswith("application/json")
    body = await resp.json()
    assert body["kind"] == "Status" and body["status"] == "Failure"
    assert body["code"] == resp.status
    return body


async def test_anonymous_is_403_bad_tokens_401_but_health_and_version_are_open(api):
    resp = await api.client.get("/api/v1/namespaces")
    assert resp.status == 403
    assert (await status_of(resp))["message"] == ('namespaces is forbidden: User "system:anonymous" cannot list '
                                                  'resource "namespaces" in API group "" at the cluster scope')
    bad = await api.client.get("/api/v1/namespaces", headers={"Authorization": "Bearer nope"})
    assert bad.status == 401
    version = await api.client.get("/version")
    assert version.status == 200
    assert (await version.json())["minor"] == "32"
    assert (await api.client.get("/healthz")).status == 200
    assert await (await api.client.get("/livez")).text() == "ok"


async def test_readyz_follows_readiness_checks(api):
    resp = await api.client.get("/readyz?verbose")
    assert resp.status == 500
    assert "[-]storage failed" in await resp.text()
    assert (await api.client.get("/readyz/storage")).status == 500
    assert (await api.client.get("/readyz/ping")).status == 200
    assert (await api.client.get("/readyz/nope")).status == 404
    api.readiness.mark("storage")
    resp = await api.client.get("/readyz")
    assert resp.status == 200 and await resp.text() == "ok"


async def test_create_get_list_conflict_and_not_found(api):
    c = api.client
    resp = await c.post(CM + "?fieldManager=kubectl-create", data=cm("one"), headers=AUTH)
    assert resp.status == 201
    created = await resp.json()
    assert created["metadata"]["namespace"] == "default"
    store = api.registry.stores[("", "v1", "configmaps")]
    assert store.last_write_opts.field_manager == "kubectl-create"
    assert store.last_write_opts.user == "admin"
    assert store.last_write_opts.field_validation == "Warn"

    again = await c.post(CM, data=cm("one"), headers=AUTH)
    assert again.status == 409
    assert (await status_of(again))["reason"] == "AlreadyExists"

    got = await c.get(CM + "/one", headers=AUTH)
    assert got.status == 200 and (await got.json())["data"] == {"a": "b"}

    missing = await c.get(CM + "/nope", headers=AUTH)
    body = await status_of(missing)
    assert missing.status == 404 and body["details"] == {"name": "nope", "kind": "configmaps"}

    lst = await (await c.get(CM, headers=AUTH)).json()
    assert [i["metadata"]["name"] for i in lst["items"]] == ["one"]
    everywhere = await (await c.get("/api/v1/configmaps", headers=AUTH)).json()
    assert len(everywhere["items"]) == 1


async def test_body_without_content_type_is_json(api):
    headers = {"Authorization": AUTH["Authorization"]}
    resp = await api.client.post(CM, data=cm("plain"), headers=headers, skip_auto_headers=["Content-Type"])
    assert resp.status == 201


async def test_yaml_and_protobuf_bodies(api):
    yaml_body = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  k: v\n"
    resp = await api.client.post(CM, data=yaml_body, headers={**AUTH, "Content-Type": "application/yaml"})
    assert resp.status == 201 and (await resp.json())["data"] == {"k": "v"}

    meta = protobuf.encode_field(1, "from-proto")
    entry = protobuf.encode_field(1, "a") + protobuf.encode_field(2, "b")
    raw = protobuf.encode_field(1, meta) + protobuf.encode_field(2, entry)
    body = protobuf.envelope("v1", "ConfigMap", raw)
    resp = await api.client.post(CM, data=body, headers={**AUTH, "Content-Type": "application/vnd.kubernetes.protobuf"})
    assert resp.status == 201, await resp.text()
    obj = await resp.json()
    assert obj["metadata"]["name"] == "from-proto" and obj["data"] == {"a": "b"}


async def test_bad_bodies_are_4xx_statuses(api):
    c = api.client
    cases = [
        (c.post(CM, data=b"{not json", headers=AUTH), 400, "BadRequest"),
        (c.post(CM, data=b"[1,2]", headers=AUTH), 400, "BadRequest"),
        (c.post(CM, data=cm("x"), headers={**AUTH, "Content-Type": "text/plain"}), 415, "UnsupportedMediaType"),
        (c.post(CM, data=orjson.dumps({"apiVersion": "apps/v1", "kind": "ConfigMap", "metadata": {"name": "x"}}),
                headers=AUTH), 400, "BadRequest"),
        (c.post(CM, data=orjson.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}}),
                headers=AUTH), 400, "BadRequest"),
        (c.post(CM, data=orjson.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                                        "metadata": {"name": "x", "namespace": "other"}}), headers=AUTH),
         400, "BadRequest"),
        (c.post(CM + "?dryRun=Some", data=cm("x"), headers=AUTH), 400, "BadRequest"),
        (c.post(CM + "?fieldValidation=Loose", data=cm("x"), headers=AUTH), 400, "BadRequest"),
        (c.post(CM, data=b"x" * (3 * 1024 * 1024 + 1), headers=AUTH), 413, "RequestEntityTooLarge"),
        (c.post(CM + "/x", data=cm("x"), headers=AUTH), 405, "MethodNotAllowed"),
        (c.post("/api/v1/configmaps", data=cm("x"), headers=AUTH), 405, "MethodNotAllowed"),
        (c.put(CM, data=cm("x"), headers=AUTH), 405, "MethodNotAllowed"),
        (c.get("/api/v1/namespaces/default/widgets", headers=AUTH), 404, "NotFound"),
        (c.get("/api/v1/namespaces/default/nodes", headers=AUTH), 404, "NotFound"),
        (c.get("/apis/nope.example.com/v1/things", headers=AUTH), 404, "NotFound"),
        (c.get(CM + "/x/bogus", headers=AUTH), 404, "NotFound"),
        (c.get(CM + "?limit=ten", headers=AUTH), 400, "BadRequest"),
        (c.get("/nothing/here", headers=AUTH), 404, "NotFound"),
    ]
    for call, code, reason in cases:
        resp = await call
        assert resp.status == code, (code, await resp.text())
        assert (await status_of(resp))["reason"] == reason
    assert ("", "v1", "configmaps") not in api.registry.stores or not api.registry.stores[("", "v1", "configmaps")].objects


async def test_dry_run_all_is_passed_to_the_store(api):
    resp = await api.client.post(CM + "?dryRun=All", data=cm("dry"), headers=AUTH)
    assert resp.status == 201
    store = api.registry.stores[("", "v1", "configmaps")]
    assert store.last_write_opts.dry_run is True and not store.objects


async def test_put_patch_and_conflicts(api):
    c = api.client
    created = await (await c.post(CM, data=cm("p"), headers=AUTH)).json()
    rv = created["metadata"]["resourceVersion"]
    wrong_name = await c.put(CM + "/p", data=cm("q"), headers=AUTH)
    assert wrong_name.status == 400
    stale = await c.put(CM + "/p", data=orjson.dumps({**orjson.loads(cm("p")), "metadata": {"name": "p", "resourceVersion": "1"}}),
                        headers=AUTH)
    assert stale.status == 409 and (await status_of(stale))["reason"] == "Conflict"
    ok = await c.put(CM + "/p", data=orjson.dumps({**orjson.loads(cm("p")), "metadata": {"name": "p", "resourceVersion": rv}}),
                     headers=AUTH)
    assert ok.status == 200
    created_by_put = await c.put(CM + "/new", data=cm("new"), headers=AUTH)
    assert created_by_put.status == 201

    patched = await c.patch(CM + "/p", data=b'{"data":{"c":"d"}}',
                            headers={**AUTH, "Content-Type": "application/merge-patch+json"})
    assert patched.status == 200 and (await patched.json())["data"] == {"a": "b", "c": "d"}
    store = api.registry.stores[("", "v1", "configmaps")]
    assert store.last_patch_type == "application/merge-patch+json"

    no_type = await c.patch(CM + "/p", data=b"{}", headers={**AUTH, "Content-Type": "application/json"})
    assert no_type.status == 415
    apply_without_manager = await c.patch(CM + "/p", data=cm("p"), headers={**AUTH, "Content-Type": "application/apply-patch+yaml"})
    assert apply_without_manager.status == 400
    json_patch_not_list = await c.patch(CM + "/p", data=b"{}", headers={**AUTH, "Content-Type": "application/json-patch+json"})
    assert json_patch_not_list.status == 400


async def test_delete_options_from_body_and_query(api):
    c = api.client
    await c.post(CM, data=cm("d1"), headers=AUTH)
    resp = await c.delete(CM + "/d1?gracePeriodSeconds=5", data=b'{"propagationPolicy":"Foreground"}',
                          headers={**AUTH, "Content-Type": "application/json"})
    assert resp.status == 200 and (await resp.json())["metadata"]["name"] == "d1"
    opts = api.registry.stores[("", "v1", "configmaps")].last_delete_opts
    assert opts.propagation_policy == "Foreground" and opts.grace_period_seconds == 5
    bad = await c.delete(CM + "/d1?propagationPolicy=Sideways", headers=AUTH)
    assert bad.status == 400
    await c.post(CM, data=cm("d2"), headers=AUTH)
    await c.post(CM, data=cm("d3"), headers=AUTH)
    coll = await c.delete(CM, headers=AUTH)
    assert coll.status == 200
    assert not api.registry.stores[("", "v1", "configmaps")].objects


async def test_warnings_become_headers(api):
    body = orjson.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "w", "labels": {"warn": "1"}},
                         "spec": {"foo": 1}})
    resp = await api.client.post(CM, data=body, headers=AUTH)
    assert resp.status == 201
    warnings = resp.headers.getall("Warning")
    assert '299 - "the store says \\"hi\\""' in warnings
    assert '299 - "unknown field \\"spec\\""' in warnings
    assert "spec" not in await resp.json()  # dropped before it reached the store


async def test_internal_errors_are_500_status_without_traceback(api, caplog):
    store = api.registry.storage_for(__import__("pyk8s.machinery.scheme", fromlist=["SCHEME"]).SCHEME.get("", "v1", "configmaps"))

    async def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    store.get = boom
    resp = await api.client.get(CM + "/x", headers=AUTH)
    assert resp.status == 500
    body = await status_of(resp)
    assert body["reason"] == "InternalError" and "secret" not in body["message"]
    assert "secret internals" in caplog.text


async def test_tables_for_get_and_list(api):
    c = api.client
    await c.post(CM, data=cm("t1"), headers=AUTH)
    accept = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"}
    resp = await c.get(CM + "?limit=500", headers={**AUTH, **accept})
    assert resp.headers["Content-Type"] == "application/json;as=Table;v=v1;g=meta.k8s.io"
    table = await resp.json()
    assert table["kind"] == "Table" and table["metadata"]["resourceVersion"]
    assert [col["name"] for col in table["columnDefinitions"]][:1] == ["Name"]
    assert table["rows"][0]["cells"][0] == "t1"
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    one = await (await c.get(CM + "/t1?includeObject=Object", headers={**AUTH, **accept})).json()
    assert one["rows"][0]["object"]["kind"] == "ConfigMap"
    plain = await (await c.get(CM + "/t1", headers=AUTH)).json()
    assert plain["kind"] == "ConfigMap"
    bad = await c.get(CM + "?includeObject=All", headers={**AUTH, **accept})
    assert bad.status == 400


async def test_status_subresource_routes_to_store(api):
    c = api.client
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
    assert (await c.post("/api/v1/namespaces/default/pods", data=orjson.dumps(pod), headers=AUTH)).status == 201
    resp = await c.patch("/api/v1/namespaces/default/pods/p/status", data=b'{"status":{"phase":"Running"}}',
                         headers={**AUTH, "Content-Type": "application/merge-patch+json"})
    assert resp.status == 200 and (await resp.json())["status"]["phase"] == "Running"
    assert (await c.post("/api/v1/namespaces/default/pods/p/status", data=b"{}", headers=AUTH)).status == 405


async def test_pod_streaming_subresources_answer_honestly(api):
    c = api.client
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "s"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
    await c.post("/api/v1/namespaces/default/pods", data=orjson.dumps(pod), headers=AUTH)
    resp = await c.get("/api/v1/namespaces/default/pods/s/log", headers=AUTH)
    assert resp.status == 400 and "does not have a host assigned" in (await status_of(resp))["message"]
    missing = await c.get("/api/v1/namespaces/default/pods/none/exec?command=ls", headers=AUTH)
    assert missing.status == 404


async def test_namespace_status_path_addresses_the_namespace(api):
    c = api.client
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}
    assert (await c.post("/api/v1/namespaces", data=orjson.dumps(ns), headers=AUTH)).status == 201
    resp = await c.get("/api/v1/namespaces/team/status", headers=AUTH)
    assert resp.status == 200 and (await resp.json())["metadata"]["name"] == "team"


async def test_field_validation_strict_warn_ignore(api):
    c = api.client
    body = b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"fv"},"data":{},"bogus":1,"data":{"a":"b"}}'
    strict = await c.post(CM + "?fieldValidation=Strict", data=body, headers=AUTH)
    assert strict.status == 400
    message = (await status_of(strict))["message"]
    assert message.startswith('ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: ')
    assert 'unknown field "bogus"' in message
    assert 'duplicate field "data"' in message
    warn = await c.post(CM, data=body, headers=AUTH)
    assert warn.status == 201
    assert '299 - "unknown field \\"bogus\\""' in warn.headers.getall("Warning")
    ignore = await c.put(CM + "/fv?fieldValidation=Ignore", data=body, headers=AUTH)
    assert ignore.status == 200 and "Warning" not in ignore.headers
