"""Service-account token signing keys: one RSA (or ECDSA) key kept on disk, JWTs signed with it.

The API server signs bound tokens (TokenRequest) and the controller manager
signs legacy token Secrets with the same private key, as upstream's
``--service-account-signing-key-file`` and ``--service-account-private-key-file``
name the same file in kubeadm clusters.  Verification and the published JWKS
use the public half.

The key id (``kid``) is upstream's: the unpadded base64url SHA-256 of the
public key's DER (PKIX) encoding, so a JWKS consumer matches tokens to keys.
``load_or_create`` makes a 2048-bit RSA key (mode 0600) on first use; a file
that holds no PEM private key (the HMAC secret older pyk8s versions kept) is
replaced, which invalidates the tokens it signed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import orjson
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
_EC_ALGS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
_EC_CRV = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_b64(value: int, size: int | None = None) -> str:
    length = size if size is not None else max(1, (value.bit_length() + 7) // 8)
    return _b64url(value.to_bytes(length, "big"))


def algorithm(key: PrivateKey | PublicKey) -> str:
    """The JWS algorithm for a key: RS256 for RSA, ES256/384/512 by curve (as upstream)."""
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return "RS256"
    alg = _EC_ALGS.get(key.curve.name)
    if alg is None:
        raise ValueError(f"unsupported elliptic curve {key.curve.name}")
    return alg


def key_id(public: PublicKey) -> str:
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return _b64url(hashlib.sha256(der).digest())


def jwk(public: PublicKey) -> dict[str, str]:
    """The public key as a JSON Web Key (``use: sig``), as in upstream's ``/openid/v1/jwks``."""
    out = {"use": "sig", "kid": key_id(public), "alg": algorithm(public)}
    if isinstance(public, rsa.RSAPublicKey):
        numbers = public.public_numbers()
        out.update(kty="RSA", n=_int_b64(numbers.n), e=_int_b64(numbers.e))
        return out
    ecn = public.public_numbers()
    size = (public.curve.key_size + 7) // 8
    out.update(kty="EC", crv=_EC_CRV[public.curve.name], x=_int_b64(ecn.x, size), y=_int_b64(ecn.y, size))
    return out


@dataclass(frozen=True, slots=True)
class SigningKey:
    private: PrivateKey

    @property
    def public(self) -> PublicKey:
        return self.private.public_key()

    @property
    def kid(self) -> str:
        return key_id(self.public)

    def sign(self, claims: dict[str, Any]) -> str:
        # Header as go-jose writes it for kube-apiserver: alg and kid, no typ.
        return jwt.encode(claims, self.private, algorithm=algorithm(self.private),
                          headers={"kid": self.kid, "typ": None})

    @classmethod
    def from_pem(cls, pem: bytes) -> SigningKey:
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise ValueError("service account signing key must be RSA or ECDSA")
        return cls(key)

    def private_pem(self) -> bytes:
        return self.private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption())

    def public_pem(self) -> bytes:
        return self.public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def generate() -> SigningKey:
    return SigningKey(rsa.generate_private_key(public_exponent=65537, key_size=2048))


def load(path: os.PathLike[str] | str) -> SigningKey:
    return SigningKey.from_pem(Path(path).read_bytes())


def load_or_create(path: os.PathLike[str] | str) -> SigningKey:
    """The key in ``path`` (PEM), made (0600, with ``<stem>.pub`` beside it) when absent or not a PEM key."""
    p = Path(path)
    try:
        return load(p)
    except (FileNotFoundError, ValueError, TypeError):
        pass
    key = generate()
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_pem())
    os.chmod(p, 0o600)  # an older file may have had another mode
    p.with_suffix(".pub").write_bytes(key.public_pem())
    return key


@dataclass(frozen=True, slots=True)
class _Parsed:
    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _parse(token: str) -> _Parsed | None:
    """A compact JWS split and decoded (PyJWT's own parser validates base64 per character, ~0.5 ms a token:
    too slow for every request, so the segments are decoded here and PyJWT's algorithms do the crypto)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header = orjson.loads(_b64decode(parts[0]))
        claims = orjson.loads(_b64decode(parts[1]))
        signature = _b64decode(parts[2])
    except (ValueError, binascii.Error, orjson.JSONDecodeError):
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None
    return _Parsed(header, claims, f"{parts[0]}.{parts[1]}".encode(), signature)


_VERIFIERS: dict[str, Any] = {"RS256": RSAAlgorithm(RSAAlgorithm.SHA256), "ES256": ECAlgorithm(ECAlgorithm.SHA256),
                              "ES384": ECAlgorithm(ECAlgorithm.SHA384), "ES512": ECAlgorithm(ECAlgorithm.SHA512)}


def load_public_keys(path: os.PathLike[str] | str) -> list[PublicKey]:
    """Every RSA or ECDSA public key in a PEM file of public keys, private keys or certificates
    (upstream's ``keyutil.PublicKeysFromFile``, as ``--service-account-key-file`` reads it)."""
    data = Path(path).read_bytes()
    keys: list[PublicKey] = []
    for match in re.finditer(rb"-----BEGIN ([A-Z ]+)-----.*?-----END \1-----", data, re.S):
        pem, kind = match.group(0), match.group(1)
        key: Any
        if kind.endswith(b"PRIVATE KEY"):
            key = serialization.load_pem_private_key(pem, password=None).public_key()
        elif kind.endswith(b"PUBLIC KEY"):
            key = serialization.load_pem_public_key(pem)
        elif kind == b"CERTIFICATE":
            key = x509.load_pem_x509_certificate(pem).public_key()
        else:
            continue
        if isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
            keys.append(key)
    if not keys:
        raise ValueError(f"no RSA or ECDSA public key in {os.fspath(path)}")
    return keys


def verify(token: str, keys: list[PublicKey]) -> dict[str, Any] | None:
    """The claims of ``token`` if one of ``keys`` signed it (no time or audience checks), else None.
    The header's ``alg`` must be the key's own (no algorithm confusion)."""
    parsed = _parse(token)
    if parsed is None:
        return None
    for key in keys:
        alg = algorithm(key)
        if parsed.header.get("alg") != alg:
            continue
        try:
            if _VERIFIERS[alg].verify(parsed.signing_input, key, parsed.signature):
                return parsed.claims
        except (ValueError, TypeError):
            continue
    return None


def unverified_claims(token: str) -> dict[str, Any] | None:
    """The payload of a compact JWS without checking it (to route by issuer), or None if it is not one."""
    parsed = _parse(token)
    return None if parsed is None else parsed.claims


__all__ = ["SigningKey", "algorithm", "generate", "jwk", "key_id", "load", "load_or_create", "load_public_keys",
           "unverified_claims", "verify"]
