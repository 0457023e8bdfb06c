"""The generic store over encrypted storage: a value read with an older key is rewritten by any update."""

from __future__ import annotations

import base64

from pyk8s.apiserver.registry import build_registry
from pyk8s.apiserver.registry.rest import WriteOptions
from pyk8s.machinery.scheme import SCHEME
from pyk8s.storage import encryption, open_storage

KEY = "/registry/core/secrets/default/s"


def _rules(*providers: dict) -> list[encryption.Rule]:
    return encryption.parse_config({"apiVersion": "apiserver.config.k8s.io/v1", "kind": "EncryptionConfiguration",
                                    "resources": [{"resources": ["secrets"], "providers": list(providers)}]})


def _aescbc(name: str, raw: bytes) -> dict:
    return {"aescbc": {"keys": [{"name": name, "secret": base64.b64encode(raw).decode()}]}}


async def test_noop_update_of_a_stale_value_rewrites_it_with_the_first_provider() -> None:
    inner = open_storage("memory://")
    await inner.start()
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "default"},
              "data": {"k": "dg=="}}
    try:
        old = build_registry(SCHEME, encryption.TransformingStorage(inner, _rules({"identity": {}})))
        old_store = old.store("", "secrets")
        assert old_store is not None
        old_store.registry = None  # no namespace admission: this test is about storage
        await old_store.create("default", secret, WriteOptions())
        assert (await inner.get(KEY)).value.startswith(b"{")  # type: ignore[union-attr]

        new = build_registry(SCHEME, encryption.TransformingStorage(
            inner, _rules(_aescbc("key1", b"k" * 32), {"identity": {}})))
        new_store = new.store("", "secrets")
        assert new_store is not None
        new_store.registry = None
        current = await new_store.get("default", "s")
        out, _ = await new_store.update("default", "s", current, WriteOptions())  # what `kubectl replace` sends
        assert int(out["metadata"]["resourceVersion"]) > int(current["metadata"]["resourceVersion"])
        assert (await inner.get(KEY)).value.startswith(b"k8s:enc:aescbc:v1:key1:")  # type: ignore[union-attr]
        again = await new_store.get("default", "s")
        same, _ = await new_store.update("default", "s", again, WriteOptions())
        assert same["metadata"]["resourceVersion"] == again["metadata"]["resourceVersion"]  # fresh: a no-op
        assert again["data"] == {"k": "dg=="}
    finally:
        await inner.close()
