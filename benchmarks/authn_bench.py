"""Authentication cost per request, in process: what each credential kind adds to a request.

Measures ``Authenticator.authenticate_token`` (the union in upstream's order) over a real registry on
memory storage, so ServiceAccount tokens read the pod and the ServiceAccount through the watch caches as
the server does:

- a static token (``--token-auth-file``): the same-run reference, a dictionary lookup;
- a pod-bound ServiceAccount token, first use (RSA-2048 signature check) and repeated use (signature
  remembered; expiry, ServiceAccount and pod still checked every time);
- a legacy token Secret's token (Secret, token copy and ServiceAccount checked every time);
- a bootstrap token (one Secret read).

    .venv/bin/python benchmarks/authn_bench.py            # ~10 s

Not a test.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable

import pyk8s.api  # noqa: F401
from pyk8s.api.core_v1.helpers import satokens
from pyk8s.apiserver.filters.authn import Authenticator, TokenSigner, UserInfo
from pyk8s.apiserver.registry import build_registry
from pyk8s.apiserver.registry.rest import WriteOptions
from pyk8s.machinery.scheme import SCHEME
from pyk8s.storage import open_storage

N = 5000


async def per_call(fn: Callable[[], Awaitable[object]], n: int = N) -> float:
    start = time.perf_counter()
    for _ in range(n):
        assert await fn() is not None
    return (time.perf_counter() - start) / n * 1e6


async def main() -> None:
    storage = open_storage("memory://")
    await storage.start()
    registry = build_registry(SCHEME, storage)
    opts = WriteOptions()

    async def create(plural: str, ns: str, body: dict) -> dict:
        store = registry.store("", plural)
        assert store is not None
        obj: dict = await store.create(ns, body, opts)
        return obj

    await create("namespaces", "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    await create("namespaces", "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}})
    sa = await create("serviceaccounts", "team", {"apiVersion": "v1", "kind": "ServiceAccount",
                                                  "metadata": {"name": "bot", "namespace": "team"}})
    pod = await create("pods", "team", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "team"},
                                        "spec": {"serviceAccountName": "bot",
                                                 "containers": [{"name": "c", "image": "busybox"}]}})
    signer = TokenSigner(b"bench")
    auth = Authenticator(tokens={"static-token": UserInfo("alice")}, signer=signer)
    auth.use_registry(registry, SCHEME)
    bound = lambda: signer.sign(satokens.bound_claims(  # noqa: E731
        issuer=signer.issuer, audiences=list(signer.api_audiences), service_account=sa, seconds=3600, pod=pod))
    legacy = signer.sign(satokens.legacy_claims(namespace="team", service_account="bot",
                                                service_account_uid=sa["metadata"]["uid"], secret_name="bot-token"))
    b64 = lambda text: base64.b64encode(text.encode()).decode()  # noqa: E731
    await create("secrets", "team", {"apiVersion": "v1", "kind": "Secret", "type": satokens.TOKEN_SECRET_TYPE,
                                     "metadata": {"name": "bot-token", "namespace": "team",
                                                  "annotations": {satokens.SA_NAME_ANNOTATION: "bot"}},
                                     "data": {"token": b64(legacy)}})
    await create("secrets", "kube-system", {
        "apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
        "metadata": {"name": "bootstrap-token-abcdef", "namespace": "kube-system"},
        "data": {"token-id": b64("abcdef"), "token-secret": b64("0123456789abcdef"),
                 "usage-bootstrap-authentication": b64("true")}})
    repeated = bound()
    await auth.authenticate_token(repeated)  # warm the watch caches
    fresh = [bound() for _ in range(500)]
    it = iter(fresh)
    static = await per_call(lambda: auth.authenticate_token("static-token"))
    rows = [
        ("static token (reference)", static),
        ("bound SA token, first use", await per_call(lambda: auth.authenticate_token(next(it)), len(fresh))),
        ("bound SA token, repeated", await per_call(lambda: auth.authenticate_token(repeated))),
        ("legacy Secret token", await per_call(lambda: auth.authenticate_token(legacy))),
        ("bootstrap token", await per_call(lambda: auth.authenticate_token("abcdef.0123456789abcdef"))),
    ]
    for name, us in rows:
        print(f"{name:28s} {us:9.1f} us/request   x{us / static:6.1f} the static token")
    await registry.close()
    await storage.close()


if __name__ == "__main__":
    asyncio.run(main())
