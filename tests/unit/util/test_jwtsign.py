from __future__ import annotations

import base64
import hashlib
import os
import stat

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pyk8s.util import jwtsign


def test_key_is_made_once_0600_and_reloaded(tmp_path):
    path = tmp_path / "sa.key"
    path.write_bytes(b"0123abcd" * 8)  # an older pyk8s's HMAC secret: replaced by a real key
    key = jwtsign.load_or_create(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert (tmp_path / "sa.pub").read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    assert jwtsign.load_or_create(path).kid == key.kid


def test_kid_is_the_sha256_of_the_public_der():
    key = jwtsign.generate()
    der = key.public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert key.kid == base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()


def test_sign_and_verify_rsa_and_ecdsa():
    for key in (jwtsign.generate(), jwtsign.SigningKey(ec.generate_private_key(ec.SECP256R1()))):
        token = key.sign({"sub": "x", "iss": "me"})
        assert jwtsign.verify(token, [key.public]) == {"sub": "x", "iss": "me"}
        assert jwtsign.verify(token, [jwtsign.generate().public]) is None
        assert jwtsign.unverified_claims(token)["iss"] == "me"
        assert jwtsign.jwk(key.public)["kid"] == key.kid
        header = jwtsign._parse(token).header
        assert header == {"alg": jwtsign.algorithm(key.private), "kid": key.kid}  # as upstream: no typ
    assert jwtsign.unverified_claims("nope") is None
