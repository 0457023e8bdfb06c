import pytest

from pyk8s.machinery import fieldcheck
from pyk8s.machinery.errors import StatusError

DEP = "io.test.Deployment"


def obj():
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "x", "labels": {"a": "b"}, "bogusMeta": 1},
            "spec": {"replicas": 1, "foo": 2,
                     "template": {"spec": {"containers": [{"name": "c", "image": "i"},
                                                          {"name": "d", "bar": 1, "ports": [{"containerPort": 1, "zz": 0}],
                                                           "resources": {"limits": {"cpu": "1"}}}]}}}}


def test_unknown_fields_paths(registry):
    got = fieldcheck.unknown_fields(obj(), DEP, registry)
    assert got == ["metadata.bogusMeta", "spec.foo", "spec.template.spec.containers[1].bar",
                   "spec.template.spec.containers[1].ports[0].zz"]


def test_clean_object_and_unknown_schema(registry):
    o = obj()
    del o["metadata"]["bogusMeta"], o["spec"]["foo"]
    o["spec"]["template"]["spec"]["containers"] = [{"name": "c"}]
    assert fieldcheck.unknown_fields(o, DEP, registry) == []
    assert fieldcheck.unknown_fields({"x": 1}, "io.test.Missing", registry) == []


def test_any_value_and_preserve_unknown(registry):
    assert fieldcheck.unknown_fields({"spec": {"anything": {"goes": 1}}}, "io.test.Free", registry) == []
    got = fieldcheck.unknown_fields({"extra": 1, "metadata": {"nope": 1}}, "io.test.Open", registry)
    assert got == ["metadata.nope"]


def test_strict_and_warn(registry):
    with pytest.raises(StatusError) as ei:
        fieldcheck.check(obj(), DEP, "Strict", registry=registry)
    assert ei.value.code == 400 and ei.value.reason == "BadRequest"
    assert ei.value.message.startswith('strict decoding error: unknown field "metadata.bogusMeta", unknown field "spec.foo"')
    warnings = fieldcheck.check(obj(), DEP, "Warn", registry=registry)
    assert warnings[1] == 'unknown field "spec.foo"'
    assert fieldcheck.check(obj(), DEP, "Ignore", registry=registry) == []


def test_duplicates():
    raw = b'{"spec": {"replicas": 1, "replicas": 2, "l": [{"a": 1, "a": 1}]}}'
    assert fieldcheck.duplicate_fields(raw) == ["spec.replicas", "spec.l[0].a"]
    with pytest.raises(StatusError) as ei:
        fieldcheck.check({"spec": {}}, "io.test.Free", "Strict", raw=raw)
    assert 'duplicate field "spec.replicas"' in ei.value.message
    assert fieldcheck.duplicate_fields(b"not json") == []


@pytest.mark.parametrize("raw", [
    b'{"a":"x:\\"y:","b":[{"c":1},{"c":2,"c":3}]}',  # colons and escaped quotes inside strings
    '{"a":{"b":1,"b":2}}',  # str bodies too
    b'{"a":NaN,"a":1}',  # not orjson's JSON: the exact decoder decides
    b'{"n":123456789012345678901234567890,"n":1}',
    b'{"k\\u003a":1,"k\\u003a":2}',
    b'{"a":"x:y","a":"z"}',  # no backslash: the body against its re-encoding
    b'{"a":{"x:":1},"b":[],"a":{"x:":1}}',
])
def test_duplicates_the_member_count_does_not_hide(raw):
    assert fieldcheck.duplicate_fields(raw) != []


def test_no_duplicates_skip_the_exact_decode(monkeypatch):
    def exact(*args, **kwargs):
        raise AssertionError("the pure-Python decode ran for a body without duplicates")

    monkeypatch.setattr(fieldcheck.json, "loads", exact)
    assert fieldcheck.duplicate_fields(b'{"a":"x:y","b":[{"c":{"d:":":"}},{"c":2}],"e":{}}') == []
    assert fieldcheck.duplicate_fields(b'{"a":"x:\\"y","b":[{"c":{"d:":"\\u003a"}}]}') == []
    assert fieldcheck.duplicate_fields('{"a": "\u00e9:", "b": 1.5e3}') == []
