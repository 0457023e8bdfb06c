"""Every field of every built-in kind can arrive as protobuf (issue 12 §4).

client-go based clients (kubectl's typed commands, Helm, the conformance framework)
send protobuf; a field without a number is silently dropped from the object, which is
how ``kubectl debug --copy-to`` once created an empty Pod.  This guard walks every
schema a built-in kind reaches and fails on a field the decoder could not place.
"""

from __future__ import annotations

import importlib

import pyk8s.api  # noqa: F401  (fills the schemas)
import pyk8s.api.protonumbers  # noqa: F401  (registers the tables)
from pyk8s.machinery.protobuf import _Decoder
from pyk8s.machinery.schema import REGISTRY, ArrayOf, MapOf, Ref, SchemaType

# Read-only or JSON-only types: never a request body.
NOT_SENT = {"io.k8s.apimachinery.pkg.apis.meta.v1.Status", "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent",
            "io.k8s.apimachinery.pkg.apis.meta.v1.StatusDetails", "io.k8s.apimachinery.pkg.apis.meta.v1.StatusCause"}
TYPE_META = {"apiVersion", "kind"}  # carried by the runtime.Unknown envelope, not the message


def _ref(t: SchemaType) -> str:
    while isinstance(t, ArrayOf | MapOf):
        t = t.items if isinstance(t, ArrayOf) else t.values
    return t.name if isinstance(t, Ref) else ""


def test_every_field_of_every_builtin_kind_has_a_protobuf_number() -> None:
    decoder = _Decoder(REGISTRY)
    importlib.import_module("pyk8s.apiserver.apiextensions.types")  # the CRD kind's schemas
    todo = [s.name for s in REGISTRY.all() if s.gvk and s.name.startswith("io.k8s.") and not s.preserve_unknown_fields]
    seen: set[str] = set()
    missing: list[str] = []
    while todo:
        name = todo.pop()
        schema = REGISTRY.get(name)
        if name in seen or name in NOT_SENT or schema is None or schema.preserve_unknown_fields:
            continue
        seen.add(name)
        direct, inline = decoder.table(schema)
        numbered = {f.name for f in direct.values()} | {f.name for g in inline.values() for f in g.values()}
        missing += [f"{name}.{f.name}" for f in schema.fields if f.name not in numbered and f.name not in TYPE_META]
        todo += [r for f in schema.fields if (r := _ref(f.type))]
    assert not missing, f"{len(missing)} fields have no protobuf number: {missing[:40]}"
