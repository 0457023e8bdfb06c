"""Encryption at rest: the providers' formats, the config file, key rotation, and the storage wrapper."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import nacl.secret
import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from pyk8s.machinery.errors import StatusError
from pyk8s.storage import encryption, open_storage

K1 = b"1" * 32
K2 = b"2" * 32
KEY = "/registry/core/secrets/default/s"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _config(*providers: dict[str, Any], resources: tuple[str, ...] = ("secrets",)) -> dict[str, Any]:
    return {"apiVersion": "apiserver.config.k8s.io/v1", "kind": "EncryptionConfiguration",
            "resources": [{"resources": list(resources), "providers": list(providers)}]}


def _aescbc(*keys: tuple[str, bytes]) -> dict[str, Any]:
    return {"aescbc": {"keys": [{"name": n, "secret": _b64(s)} for n, s in keys]}}


def _secretbox(*keys: tuple[str, bytes]) -> dict[str, Any]:
    return {"secretbox": {"keys": [{"name": n, "secret": _b64(s)} for n, s in keys]}}


IDENTITY = {"identity": {}}


def _chain(*providers: dict[str, Any]) -> encryption.PrefixTransformers:
    [rule] = encryption.parse_config(_config(*providers))
    return rule.transformers


def test_aescbc_format_is_upstreams() -> None:
    stored = _chain(_aescbc(("key1", K1))).to_storage(b'{"a":1}', KEY)
    prefix = b"k8s:enc:aescbc:v1:key1:"
    assert stored.startswith(prefix)
    iv, body = stored[len(prefix):len(prefix) + 16], stored[len(prefix) + 16:]
    dec = Cipher(algorithms.AES(K1), modes.CBC(iv)).decryptor()  # decrypted independently of the module
    unpadder = padding.PKCS7(128).unpadder()
    assert unpadder.update(dec.update(body) + dec.finalize()) + unpadder.finalize() == b'{"a":1}'


def test_secretbox_format_is_upstreams() -> None:
    stored = _chain(_secretbox(("k", K2))).to_storage(b"plain", KEY)
    prefix = b"k8s:enc:secretbox:v1:k:"
    assert stored.startswith(prefix)
    assert nacl.secret.SecretBox(K2).decrypt(stored[len(prefix):]) == b"plain"  # nonce || box, as Go's secretbox


def test_every_provider_reads_and_only_the_first_writes() -> None:
    old = _chain(_aescbc(("key1", K1)))
    rotated = _chain(_secretbox(("key2", K2)), _aescbc(("key1", K1)), IDENTITY)
    assert rotated.from_storage(old.to_storage(b"v", KEY), KEY) == (b"v", True)  # stale: rewrite it
    assert rotated.from_storage(b"plain", KEY) == (b"plain", True)
    fresh = rotated.to_storage(b"v", KEY)
    assert fresh.startswith(b"k8s:enc:secretbox:v1:key2:")
    assert rotated.from_storage(fresh, KEY) == (b"v", False)


def test_second_key_of_a_provider_reads_but_does_not_write() -> None:
    two = _chain(_aescbc(("new", K2), ("old", K1)))
    written_with_old = _chain(_aescbc(("old", K1))).to_storage(b"v", KEY)
    assert two.from_storage(written_with_old, KEY) == (b"v", True)
    assert two.to_storage(b"v", KEY).startswith(b"k8s:enc:aescbc:v1:new:")


def test_wrong_key_and_unknown_prefix_are_errors() -> None:
    stored = _chain(_aescbc(("key1", K1))).to_storage(b"v" * 40, KEY)
    # (A wrong aescbc key is caught only by the padding check, as upstream's: CBC has no integrity.)
    with pytest.raises(encryption.TransformError, match="^no matching prefix found$"):
        _chain(_aescbc(("other", K1)), IDENTITY).from_storage(stored, KEY)
    boxed = _chain(_secretbox(("k", K1))).to_storage(b"v", KEY)
    with pytest.raises(encryption.TransformError, match="^output array did not decrypt$"):
        _chain(_secretbox(("k", K2))).from_storage(boxed, KEY)


@pytest.mark.parametrize(("provider", "message"), [
    ({"aescbc": {"keys": [{"name": "k", "secret": _b64(b"short")}]}},
     'resources[0].providers[0].aescbc.keys[0].secret: Invalid value: "REDACTED": secret is not of the expected '
     "length, got 5, expected one of [16 24 32]"),
    ({"secretbox": {"keys": [{"name": "k", "secret": _b64(b"1" * 16)}]}},
     'resources[0].providers[0].secretbox.keys[0].secret: Invalid value: "REDACTED": secret is not of the expected '
     "length, got 16, expected one of [32]"),
    ({"aescbc": {"keys": [{"name": "a:b", "secret": _b64(K1)}]}},
     "resources[0].providers[0].aescbc.keys[0].name: Invalid value: \"a:b\": should not contain ':'"),
    ({"aescbc": {"keys": []}}, "resources[0].providers[0].aescbc.keys: Required value: keys list should not be empty"),
    ({"kms": {"name": "x"}}, 'resources[0].providers[0]: Unsupported value: "kms"'),
])
def test_config_errors(provider: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("[", r"\[").replace("(", r"\(")):
        encryption.parse_config(_config(provider))


def test_resource_prefixes() -> None:
    assert encryption.resource_prefix("secrets") == "/registry/core/secrets/"
    assert encryption.resource_prefix("deployments.apps") == "/registry/apps/deployments/"
    assert encryption.resource_prefix("*.apps") == "/registry/apps/"
    assert encryption.resource_prefix("*.") == "/registry/core/"
    assert encryption.resource_prefix("*.*") == "/registry/"


def test_load_config_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "enc.yaml"
    path.write_text("kind: Nope\n")
    with pytest.raises(ValueError, match="error while parsing encryption provider configuration file"):
        encryption.load_config(path)


async def test_wrapper_stores_ciphertext_and_serves_plaintext() -> None:
    inner = open_storage("memory://")
    store = encryption.TransformingStorage(inner, encryption.parse_config(_config(_aescbc(("key1", K1)))))
    await store.start()
    try:
        watch = store.watch("/registry/", after_revision=0)
        await store.create(KEY, b'{"data":1}')
        await store.create("/registry/core/configmaps/default/c", b'{"cm":1}')
        raw = await inner.get(KEY)
        assert raw is not None and raw.value.startswith(b"k8s:enc:aescbc:v1:key1:")
        assert b"data" not in raw.value
        assert (await inner.get("/registry/core/configmaps/default/c")).value == b'{"cm":1}'  # type: ignore[union-attr]
        kv = await store.get(KEY)
        assert kv is not None and kv.value == b'{"data":1}' and not getattr(kv, "stale", False)
        assert [k.value for k in (await store.list("/registry/")).items] == [b'{"cm":1}', b'{"data":1}']
        first = await anext(aiter(watch))
        assert first.kv.value == b'{"data":1}'
        await watch.aclose()  # type: ignore[attr-defined]
    finally:
        await store.close()


async def test_undecryptable_value_is_upstreams_500() -> None:
    inner = open_storage("memory://")
    await inner.start()
    try:
        writer = encryption.TransformingStorage(inner, encryption.parse_config(_config(_aescbc(("key1", K1)))))
        await writer.create(KEY, b"{}")
        uncovered = encryption.TransformingStorage(inner, encryption.parse_config(_config(
            IDENTITY, resources=("configmaps",))))
        with pytest.raises(StatusError) as info:
            await uncovered.get(KEY)
        assert info.value.code == 500 and info.value.reason == "InternalError"
        assert info.value.message == "Internal error occurred: identity transformer tried to read encrypted data"
        boxed = encryption.TransformingStorage(inner, encryption.parse_config(_config(_secretbox(("k", K1)))))
        await boxed.update(KEY, b"{}", expected_revision=0)
        wrong = encryption.TransformingStorage(inner, encryption.parse_config(_config(_secretbox(("k", K2)))))
        with pytest.raises(StatusError) as info:
            await wrong.list("/registry/core/secrets/")
        assert info.value.code == 500 and info.value.message == (
            f'Internal error occurred: unable to transform key "{KEY}": output array did not decrypt')
    finally:
        await inner.close()


async def test_start_counts_values_left_with_an_older_provider() -> None:
    inner = open_storage("memory://")
    await inner.start()
    try:
        await inner.create(KEY, b"{}")  # written before encryption was configured
        await inner.create("/registry/core/configmaps/default/c", b"{}")
        store = encryption.TransformingStorage(inner, encryption.parse_config(_config(_aescbc(("k", K1)), IDENTITY)))
        assert await store.stale_values() == (1, 1)
        await store.update(KEY, b"{}", expected_revision=0)
        assert await store.stale_values() == (0, 1)
    finally:
        await inner.close()
