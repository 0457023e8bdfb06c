"""Encryption at rest: value transformers between the registry and the storage driver.

kube-apiserver's ``--encryption-provider-config`` names an
``apiserver.config.k8s.io/v1`` ``EncryptionConfiguration``: for each list of
resources, an ordered list of providers.  The first provider encrypts every
write; every provider may decrypt a read, recognised by the prefix it wrote:

* ``aescbc``: AES-CBC with PKCS#7 padding, ``k8s:enc:aescbc:v1:<key name>:``
  then a random 16-byte IV and the ciphertext (keys of 16, 24 or 32 bytes);
* ``secretbox``: XSalsa20-Poly1305 (NaCl), ``k8s:enc:secretbox:v1:<key name>:``
  then the 24-byte nonce, the tag and the ciphertext (32-byte keys);
* ``aesgcm``: AES-GCM with the storage key as associated data,
  ``k8s:enc:aesgcm:v1:<key name>:`` then the 12-byte nonce and ciphertext;
* ``identity``: plaintext, which refuses to read a ``k8s:enc:`` value.

Each provider may list several keys: the first key of the first provider
writes, all keys read.  A value read with anything but the writing key is
*stale*: ``TransformingStorage.get`` marks it so (``KeyValue.stale``), and the
generic store then rewrites it on the next update even when nothing changed,
which is what makes upstream's re-encryption procedure work
(``kubectl get secrets -A -o json | kubectl replace -f -``).

``TransformingStorage`` wraps any driver (SQLite, etcd, memory), so the
bytes on disk or in etcd are ciphertext while the registry and its watch
cache see plaintext.  A value nothing can decrypt is a 500 InternalError, worded as
upstream's store words it: ``Internal error occurred: <reason>`` for a single read,
``Internal error occurred: unable to transform key "<key>": <reason>`` in a list.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import nacl.exceptions
import nacl.secret
import yaml
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pyk8s.machinery import errors
from pyk8s.storage.interface import Event, KeyValue, ListResult, Storage

log = logging.getLogger(__name__)

API_VERSION = "apiserver.config.k8s.io/v1"
KIND = "EncryptionConfiguration"
ENCRYPTED = b"k8s:enc:"
AES_KEY_SIZES = (16, 24, 32)


class TransformError(Exception):
    """A stored value that cannot be turned back into plaintext."""


@dataclass(frozen=True, slots=True)
class StaleKeyValue(KeyValue):
    """A value read with a provider or key other than the one that writes now."""

    stale: bool = True


class Transformer(Protocol):
    prefix: bytes

    def decrypt(self, data: bytes, key: str) -> bytes: ...

    def encrypt(self, data: bytes, key: str) -> bytes: ...


class Identity:
    prefix = b""

    def decrypt(self, data: bytes, key: str) -> bytes:
        if data.startswith(ENCRYPTED):
            raise TransformError("identity transformer tried to read encrypted data")
        return data

    def encrypt(self, data: bytes, key: str) -> bytes:
        return data


class AESCBC:
    def __init__(self, name: str, secret: bytes) -> None:
        self.prefix = f"k8s:enc:aescbc:v1:{name}:".encode()
        self._aes = algorithms.AES(secret)

    def encrypt(self, data: bytes, key: str) -> bytes:
        iv = os.urandom(16)
        pad = 16 - len(data) % 16  # PKCS#7: always 1..16 bytes, each the pad length
        enc = Cipher(self._aes, modes.CBC(iv)).encryptor()
        return self.prefix + iv + enc.update(data + bytes((pad,)) * pad) + enc.finalize()

    def decrypt(self, data: bytes, key: str) -> bytes:
        if len(data) < 16:
            raise TransformError("the stored data was shorter than the required size")
        iv, body = data[:16], data[16:]
        if len(body) % 16:
            raise TransformError("the stored data is not a multiple of the block size")
        if not body:
            raise TransformError("invalid PKCS7 data (empty or not padded)")
        dec = Cipher(self._aes, modes.CBC(iv)).decryptor()
        padded = dec.update(body) + dec.finalize()
        pad = padded[-1]
        if pad == 0 or pad > 16 or padded[-pad:] != bytes([pad]) * pad:
            raise TransformError("invalid padding on input")
        return padded[:-pad]


class Secretbox:
    def __init__(self, name: str, secret: bytes) -> None:
        self.prefix = f"k8s:enc:secretbox:v1:{name}:".encode()
        self._box = nacl.secret.SecretBox(secret)

    def encrypt(self, data: bytes, key: str) -> bytes:
        return self.prefix + bytes(self._box.encrypt(data))  # nonce || tag || ciphertext, as Go's secretbox

    def decrypt(self, data: bytes, key: str) -> bytes:
        if len(data) < nacl.secret.SecretBox.NONCE_SIZE:
            raise TransformError("the stored data was shorter than the required size")
        try:
            return bytes(self._box.decrypt(data))
        except nacl.exceptions.CryptoError:
            raise TransformError("output array did not decrypt") from None


class AESGCM_:
    def __init__(self, name: str, secret: bytes) -> None:
        self.prefix = f"k8s:enc:aesgcm:v1:{name}:".encode()
        self._aead = AESGCM(secret)

    def encrypt(self, data: bytes, key: str) -> bytes:
        nonce = os.urandom(12)
        return self.prefix + nonce + self._aead.encrypt(nonce, data, key.encode())

    def decrypt(self, data: bytes, key: str) -> bytes:
        if len(data) < 12:
            raise TransformError("the stored data was shorter than the required size")
        try:
            return self._aead.decrypt(data[:12], data[12:], key.encode())
        except Exception:  # noqa: BLE001 - cryptography raises InvalidTag; the reason is all we report
            raise TransformError("cipher: message authentication failed") from None


class PrefixTransformers:
    """The providers of one resource list: the first writes, whichever prefix matches reads."""

    def __init__(self, transformers: list[Transformer]) -> None:
        if not transformers:
            raise ValueError("at least one provider is required")
        self.transformers = transformers

    def to_storage(self, data: bytes, key: str) -> bytes:
        return self.transformers[0].encrypt(data, key)

    def from_storage(self, data: bytes, key: str) -> tuple[bytes, bool]:
        """(plaintext, stale)."""
        reasons: list[str] = []
        for i, t in enumerate(self.transformers):
            if not data.startswith(t.prefix):
                continue
            try:
                plain = t.decrypt(data[len(t.prefix):], key)
            except TransformError as exc:
                if t.prefix:  # identity's refusal is not a reason: another provider may still match
                    reasons.append(str(exc))
                continue
            return plain, i != 0
        if not reasons:
            raise TransformError("no matching prefix found")
        raise TransformError(reasons[0] if len(reasons) == 1 else "[" + ", ".join(reasons) + "]")


# ---------------------------------------------------------------- configuration


@dataclass(frozen=True, slots=True)
class Rule:
    """Storage keys under ``prefix`` go through ``transformers``."""

    prefix: str
    transformers: PrefixTransformers


def resource_prefix(resource: str) -> str:
    """The storage key prefix of a configured resource (``secrets``, ``deployments.apps``, ``*.apps``, ``*.*``)."""
    plural, _, group = resource.partition(".")
    if resource == "*.*":
        return "/registry/"
    if plural == "*":
        return f"/registry/{group or 'core'}/"
    return f"/registry/{group or 'core'}/{plural}/"


def _decode_secret(secret: Any, path: str, sizes: tuple[int, ...]) -> bytes:
    try:
        raw = base64.b64decode(str(secret or ""), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f'{path}.secret: Invalid value: "REDACTED": secret is not valid base64') from None
    if len(raw) not in sizes:
        expected = " ".join(str(s) for s in sizes)
        raise ValueError(f'{path}.secret: Invalid value: "REDACTED": secret is not of the expected length, '
                         f"got {len(raw)}, expected one of [{expected}]")
    return raw


_KEYED: dict[str, tuple[Callable[[str, bytes], Transformer], tuple[int, ...]]] = {
    "aescbc": (AESCBC, AES_KEY_SIZES),
    "aesgcm": (AESGCM_, AES_KEY_SIZES),
    "secretbox": (Secretbox, (32,)),
}


def _provider(entry: Any, path: str) -> list[Transformer]:
    if not isinstance(entry, dict) or len(entry) != 1:
        raise ValueError(f"{path}: Invalid value: exactly one provider must be specified in each element")
    (kind, body), = entry.items()
    if kind == "identity":
        return [Identity()]
    if kind not in _KEYED:
        raise ValueError(f'{path}: Unsupported value: "{kind}": supported values: "aescbc", "aesgcm", '
                         '"identity", "secretbox" (pyk8s has no KMS plugin support)')
    make, sizes = _KEYED[kind]
    keys = (body or {}).get("keys") if isinstance(body, dict) else None
    if not keys:
        raise ValueError(f"{path}.{kind}.keys: Required value: keys list should not be empty")
    out: list[Transformer] = []
    for j, key in enumerate(keys):
        kpath = f"{path}.{kind}.keys[{j}]"
        name = str((key or {}).get("name") or "")
        if not name:
            raise ValueError(f"{kpath}.name: Required value: key name is required")
        if ":" in name:
            raise ValueError(f'{kpath}.name: Invalid value: "{name}": should not contain \':\'')
        out.append(make(name, _decode_secret(key.get("secret"), kpath, sizes)))
    return out


def parse_config(doc: Any) -> list[Rule]:
    """The rules of an EncryptionConfiguration document; ValueError worded as upstream's validation."""
    if not isinstance(doc, dict) or doc.get("kind") != KIND or doc.get("apiVersion") != API_VERSION:
        raise ValueError(f"the file must be an {API_VERSION} {KIND}")
    rules: list[Rule] = []
    for i, entry in enumerate(doc.get("resources") or []):
        resources = (entry or {}).get("resources") or []
        if not resources:
            raise ValueError(f"resources[{i}].resources: Required value: resource must be specified")
        providers = (entry or {}).get("providers") or []
        if not providers:
            raise ValueError(f"resources[{i}].providers: Required value: provider must be specified")
        transformers: list[Transformer] = []
        for j, provider in enumerate(providers):
            transformers += _provider(provider, f"resources[{i}].providers[{j}]")
        chain = PrefixTransformers(transformers)
        rules += [Rule(resource_prefix(str(r)), chain) for r in resources]
    return rules


def load_config(path: os.PathLike[str] | str) -> list[Rule]:
    try:
        doc = yaml.safe_load(Path(path).read_text())
        return parse_config(doc)
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ValueError(f"error while parsing encryption provider configuration file {str(path)!r}: {exc}") from None


# ---------------------------------------------------------------- the storage wrapper


class TransformingStorage:
    """A ``Storage`` whose values under configured prefixes are transformed on the way in and out."""

    def __init__(self, inner: Storage, rules: list[Rule]) -> None:
        self.inner = inner
        self.rules = rules

    def __getattr__(self, name: str) -> Any:  # driver statistics and extras pass through
        return getattr(self.inner, name)

    def _rule(self, key: str) -> PrefixTransformers | None:
        for rule in self.rules:
            if key.startswith(rule.prefix):
                return rule.transformers
        return None

    def _encode(self, key: str, value: bytes) -> bytes:
        chain = self._rule(key)
        return value if chain is None else chain.to_storage(value, key)

    def _decode(self, kv: KeyValue, *, in_list: bool = False) -> KeyValue:
        chain = self._rule(kv.key)
        if chain is None and not kv.value.startswith(ENCRYPTED):
            return kv
        try:
            if chain is None:  # a resource no rule covers is read by the plain identity transformer
                return KeyValue(kv.key, Identity().decrypt(kv.value, kv.key), kv.create_revision, kv.mod_revision)
            plain, stale = chain.from_storage(kv.value, kv.key)
        except TransformError as exc:
            where = f'unable to transform key "{kv.key}": ' if in_list else ""
            raise errors.internal(f"Internal error occurred: {where}{exc}") from None
        if stale:
            return StaleKeyValue(kv.key, plain, kv.create_revision, kv.mod_revision)
        return KeyValue(kv.key, plain, kv.create_revision, kv.mod_revision)

    async def start(self) -> None:
        await self.inner.start()
        stale, total = await self.stale_values()
        if stale:
            log.warning("%d of %d values under the encryption configuration's resources are stored with another "
                        "provider or key than the first one; re-encrypt them with `kubectl get secrets -A -o json "
                        "| kubectl replace -f -` (and likewise for other listed resources)", stale, total)

    async def stale_values(self, page: int = 500) -> tuple[int, int]:
        """(values not written by the first provider and key, values) under the configured prefixes.
        Values nothing can read are counted as stale too: reading them later answers the 500."""
        stale = total = 0
        for prefix in dict.fromkeys(rule.prefix for rule in self.rules):
            after, revision = "", 0
            while True:
                res = await self.inner.list(prefix, revision=revision, limit=page, start_after=after)
                revision = res.revision
                for kv in res.items:
                    chain = self._rule(kv.key)
                    total += 1
                    if chain is None:
                        continue
                    try:
                        stale += chain.from_storage(kv.value, kv.key)[1]
                    except TransformError:
                        stale += 1
                if not res.more or not res.items:
                    break
                after = res.items[-1].key
        return stale, total

    async def close(self) -> None:
        await self.inner.close()

    async def current_revision(self) -> int:
        return await self.inner.current_revision()

    async def compacted_revision(self) -> int:
        return await self.inner.compacted_revision()

    async def get(self, key: str, *, revision: int = 0) -> KeyValue | None:
        kv = await self.inner.get(key, revision=revision)
        return None if kv is None else self._decode(kv)

    async def list(self, prefix: str, *, revision: int = 0, limit: int = 0, start_after: str = "") -> ListResult:
        res = await self.inner.list(prefix, revision=revision, limit=limit, start_after=start_after)
        return ListResult([self._decode(kv, in_list=True) for kv in res.items], res.revision, res.more,
                          res.remaining)

    async def count(self, prefix: str) -> int:
        return await self.inner.count(prefix)

    async def create(self, key: str, value: bytes) -> KeyValue:
        kv = await self.inner.create(key, self._encode(key, value))
        return KeyValue(kv.key, value, kv.create_revision, kv.mod_revision)

    async def update(self, key: str, value: bytes, *, expected_revision: int) -> KeyValue:
        kv = await self.inner.update(key, self._encode(key, value), expected_revision=expected_revision)
        return KeyValue(kv.key, value, kv.create_revision, kv.mod_revision)

    async def delete(self, key: str, *, expected_revision: int = 0) -> KeyValue:
        return self._decode(await self.inner.delete(key, expected_revision=expected_revision))

    async def watch(self, prefix: str, *, after_revision: int) -> AsyncIterator[Event]:
        stream = self.inner.watch(prefix, after_revision=after_revision)
        try:
            async for event in stream:
                try:
                    kv = self._decode(event.kv)
                    prev = None if event.prev is None else self._decode(event.prev)
                except errors.StatusError as exc:
                    # Upstream's watcher ends the watch with this error; one bad value must not stop the shared
                    # watch cache, so it is logged and skipped.
                    log.error("watch: skipping revision %d: %s", event.revision, exc.message)
                    continue
                yield Event(event.type, kv, prev)
        finally:
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()

    async def compact(self, revision: int) -> None:
        await self.inner.compact(revision)


def wrap(storage: Storage, config_path: os.PathLike[str] | str | None) -> Storage:
    """``storage`` behind the transformers of ``--encryption-provider-config`` (unchanged without one)."""
    if not config_path:
        return storage
    return TransformingStorage(storage, load_config(config_path))
