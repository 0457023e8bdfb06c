from __future__ import annotations

import time

from pyk8s.apiserver.filters.authn import Authenticator, TokenSigner, UserInfo


def test_signed_tokens_verify_and_expire():
    signer = TokenSigner(b"secret")
    now = time.time()
    token = signer.sign({"sub": "system:serviceaccount:ns:bot", "exp": int(now) + 60})
    assert signer.verify(token)["sub"] == "system:serviceaccount:ns:bot"
    assert signer.verify(token, now=now + 120) is None
    assert TokenSigner(b"other").verify(token) is None
    head, payload, sig = token.split(".")
    assert signer.verify(f"{head}.{payload}x.{sig}") is None
    assert signer.verify("not-a-jwt") is None


def test_authenticator_maps_tokens_to_users():
    signer = TokenSigner(b"k")
    admin = UserInfo("admin", ("system:masters",))
    auth = Authenticator(tokens={"static": admin}, signer=signer)
    assert auth.from_token("static") is admin
    sa = auth.from_token(signer.sign({"sub": "system:serviceaccount:kube-system:ctl", "exp": time.time() + 60}))
    assert sa.username == "system:serviceaccount:kube-system:ctl"
    assert "system:serviceaccounts:kube-system" in sa.groups and "system:authenticated" in sa.groups
    assert auth.from_token(signer.sign({"sub": "alice", "exp": time.time() + 60})) is None
    assert auth.from_token("unknown") is None
