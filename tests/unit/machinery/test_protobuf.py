import base64
import importlib
import json
import pathlib

import pytest

from pyk8s.machinery import protobuf as pb
from pyk8s.machinery.errors import StatusError
from pyk8s.machinery.schema import (
    BYTES,
    INT32,
    STRING,
    STRING_MAP,
    TIME,
    AnyValue,
    ArrayOf,
    Field,
    IntOrString,
    MapOf,
    ObjectSchema,
    Quantity,
    Ref,
)

F = pb.encode_field

# The exact body of `kubectl create configmap cm1 --from-literal=a=b` (kubectl-api.md §10).
CM_BODY = bytes.fromhex(
    "6b387300" "0a0f" "0a027631" "1209" + b"ConfigMap".hex()
    + "121d" "0a13" "0a03636d31" "1200" "1a00" "2200" "2a00" "3200" "3800" "4200" "1206" "0a0161" "120162"
    + "1a00" "2200"
)


def test_wire_reader_handles_all_types():
    buf = F(1, 150) + F(2, b"hi") + bytes([0x19]) + (7).to_bytes(8, "little") + bytes([0x25]) + (9).to_bytes(4, "little")
    assert list(pb.iter_fields(buf)) == [(1, 0, 150), (2, 2, b"hi"), (3, 1, 7), (4, 5, 9)]
    with pytest.raises(pb.ProtobufError):
        list(pb.iter_fields(F(1, b"abc")[:-1]))


def test_decode_unknown_envelope():
    api_version, kind, raw = pb.decode_unknown(CM_BODY)
    assert (api_version, kind) == ("v1", "ConfigMap")
    assert raw.startswith(b"\x0a\x13")


def _registry(registry):
    registry.add(ObjectSchema("io.test.Thing", "A thing.", [
        Field("metadata", Ref("io.test.ObjectMeta"), proto=1),
        Field("data", MapOf(BYTES), proto=2),
        Field("count", INT32, proto=3),
        Field("port", IntOrString(), proto=4),
        Field("name", IntOrString(), proto=5),
        Field("cpu", Quantity(), proto=6),
        Field("when", TIME, proto=7),
        Field("raw", AnyValue(), proto=8),
        Field("tags", ArrayOf(STRING), proto=9),
        Field("nums", ArrayOf(INT32), proto=10),
        Field("strs", STRING_MAP, proto=11),
        Field("inline", STRING),
    ], gvk=("test.io", "v1", "Thing")))
    pb.FIELD_NUMBERS["io.test.Thing"] = {"inline": (12, 1)}
    return registry


def test_decode_schema_driven(registry):
    reg = _registry(registry)
    meta = F(1, "t1") + F(2, "") + F(3, "ns") + F(7, 0) + F(8, b"") + F(11, F(1, "app") + F(2, "web"))
    raw = (F(1, meta) + F(2, F(1, "k") + F(2, b"\x00\xff")) + F(3, -5) + F(4, F(1, 0) + F(2, 8080))
           + F(5, F(1, 1) + F(3, "http")) + F(6, F(1, "100m")) + F(7, F(1, 1700000000) + F(2, 0))
           + F(8, F(1, b'{"a": [1]}')) + F(9, "x") + F(9, "") + F(10, bytes([1, 2, 3]))
           + F(11, F(1, "e") + F(2, "")) + F(12, F(1, "in")) + F(99, "ignored"))
    body = pb.envelope("test.io/v1", "Thing", raw)
    obj = pb.decode_k8s_protobuf(body, reg)
    assert obj == {
        "kind": "Thing", "apiVersion": "test.io/v1",
        "metadata": {"name": "t1", "namespace": "ns", "labels": {"app": "web"}},
        "data": {"k": base64.b64encode(b"\x00\xff").decode()},
        "count": -5, "port": 8080, "name": "http", "cpu": "100m", "when": "2023-11-14T22:13:20Z",
        "raw": {"a": [1]}, "tags": ["x", ""], "nums": [1, 2, 3], "strs": {"e": ""}, "inline": "in",
    }
    del pb.FIELD_NUMBERS["io.test.Thing"]


def test_decode_errors(registry):
    with pytest.raises(StatusError) as ei:
        pb.decode_k8s_protobuf(b'{"kind": "x"}', registry)
    assert ei.value.code == 400
    assert "provided data does not appear to be a protobuf message, expected prefix [107, 56, 115, 0]" in ei.value.message
    with pytest.raises(StatusError) as ei:
        pb.decode_k8s_protobuf(pb.envelope("v9", "Nope", b""), registry)
    assert ei.value.message == 'no kind "Nope" is registered for version "v9"'
    with pytest.raises(StatusError):
        pb.decode_k8s_protobuf(pb.MAGIC + b"\x0a\x05ab", registry)


def test_real_configmap_body_with_api_schemas():
    try:
        importlib.import_module("pyk8s.api")
        importlib.import_module("pyk8s.api.protonumbers")
    except ImportError as e:  # the api package is being written in parallel
        pytest.skip(f"pyk8s.api not importable yet: {e}")
    from pyk8s.machinery.schema import REGISTRY

    if REGISTRY.for_gvk("", "v1", "ConfigMap") is None:
        pytest.skip("ConfigMap schema not defined yet")
    obj = pb.decode_k8s_protobuf(CM_BODY)
    assert obj == {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "cm1"}, "data": {"a": "b"}}


# Bodies captured from the real kubectl 1.32 (`kubectl create ...`, `auth can-i`, `auth whoami`,
# `create token`) against a recording server; expected objects checked by hand.
_BODIES = json.loads((pathlib.Path(__file__).parent / "kubectl_protobuf_bodies.json").read_text())


@pytest.mark.parametrize("name", sorted(_BODIES))
def test_real_kubectl_bodies(name):
    try:
        importlib.import_module("pyk8s.api")
        importlib.import_module("pyk8s.api.protonumbers")
    except ImportError as e:
        pytest.skip(f"pyk8s.api not importable yet: {e}")
    from pyk8s.machinery.schema import REGISTRY

    case = _BODIES[name]
    body = bytes.fromhex(case["hex"])
    api_version, kind, _ = pb.decode_unknown(body)
    group, _, version = api_version.rpartition("/")
    if REGISTRY.for_gvk(group, version, kind) is None:
        pytest.skip(f"{kind} schema not defined yet")
    assert pb.decode_k8s_protobuf(body) == case["expected"]
