"""The claims of ServiceAccount tokens, shared by the API server (TokenRequest, validation) and the
controller manager (legacy token Secrets), so both sides agree on one layout, upstream's.

Bound tokens (TokenRequest) carry the standard claims plus a private
``kubernetes.io`` claim naming the namespace, the ServiceAccount, and the pod,
Secret or node the token is bound to.  Legacy tokens (the ones in
``kubernetes.io/service-account-token`` Secrets) use the fixed issuer
``kubernetes/serviceaccount`` and flat ``kubernetes.io/serviceaccount/*``
claims, and never expire: they are valid while the Secret holds them.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

DEFAULT_ISSUER = "https://kubernetes.default.svc.cluster.local"
LEGACY_ISSUER = "kubernetes/serviceaccount"
PRIVATE_CLAIM = "kubernetes.io"
LEGACY_NAMESPACE = "kubernetes.io/serviceaccount/namespace"
LEGACY_SECRET_NAME = "kubernetes.io/serviceaccount/secret.name"
LEGACY_SA_NAME = "kubernetes.io/serviceaccount/service-account.name"
LEGACY_SA_UID = "kubernetes.io/serviceaccount/service-account.uid"
# Secret of type kubernetes.io/service-account-token: its annotations and data keys.
TOKEN_SECRET_TYPE = "kubernetes.io/service-account-token"
SA_NAME_ANNOTATION = "kubernetes.io/service-account.name"
SA_UID_ANNOTATION = "kubernetes.io/service-account.uid"
TOKEN_KEY = "token"
CA_KEY = "ca.crt"
NAMESPACE_KEY = "namespace"
#: The kubelet's kube-api-access request, extended to a year with a warn-after mark (upstream's safe rollout).
WARN_ONLY_SECONDS = 60 * 60 + 7
EXTENDED_SECONDS = 24 * 365 * 60 * 60


def username(namespace: str, name: str) -> str:
    return f"system:serviceaccount:{namespace}:{name}"


def _ref(obj: dict[str, Any] | None) -> dict[str, str] | None:
    if obj is None:
        return None
    meta = obj.get("metadata") or {}
    return {"name": str(meta.get("name", "")), "uid": str(meta.get("uid", ""))}


def bound_claims(*, issuer: str, audiences: list[str], service_account: dict[str, Any], seconds: int,
                 pod: dict[str, Any] | None = None, secret: dict[str, Any] | None = None,
                 node: dict[str, Any] | None = None, warn_after: int = 0, now: float | None = None) -> dict[str, Any]:
    """Upstream's ``serviceaccount.Claims``: a pod-bound token also names the pod's node."""
    t = int(time.time() if now is None else now)
    meta = service_account.get("metadata") or {}
    ns = str(meta.get("namespace", ""))
    private: dict[str, Any] = {"namespace": ns, "serviceaccount": _ref(service_account)}
    if pod is not None:
        private["pod"] = _ref(pod)
        if node is not None:
            private["node"] = _ref(node)
    elif secret is not None:
        private["secret"] = _ref(secret)
    elif node is not None:
        private["node"] = _ref(node)
    if warn_after:
        private["warnafter"] = t + warn_after
    return {"aud": audiences, "exp": t + seconds, "iat": t, "iss": issuer, "jti": str(uuid.uuid4()),
            PRIVATE_CLAIM: private, "nbf": t, "sub": username(ns, str(meta.get("name", "")))}


def legacy_claims(*, namespace: str, service_account: str, service_account_uid: str,
                  secret_name: str) -> dict[str, Any]:
    """Upstream's ``LegacyClaims``: no expiry, no audience."""
    return {"iss": LEGACY_ISSUER, LEGACY_NAMESPACE: namespace, LEGACY_SECRET_NAME: secret_name,
            LEGACY_SA_NAME: service_account, LEGACY_SA_UID: service_account_uid,
            "sub": username(namespace, service_account)}
