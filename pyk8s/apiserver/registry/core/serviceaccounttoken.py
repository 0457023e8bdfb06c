"""``serviceaccounts/token``: a TokenRequest answered with a signed service-account token (upstream's TokenREST).

The token is bound to a pod, Secret or node when ``spec.boundObjectRef`` asks:
the bound object must exist (with the uid given, else 409), and a pod must run
as this account (400).  ``expirationSeconds`` defaults to an hour, must be at
least 10 minutes and at most 2^32 seconds (422 from ``authentication.k8s.io``),
and is shortened, with a warning, to ``--service-account-max-token-expiration``.
A pod-bound token for the API's own audiences asked for the default hour lives
a year and warns after the hour (``--service-account-extend-token-expiration``).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from pyk8s.api.core_v1.helpers import satokens
from pyk8s.apiserver.registry.bundle import Peers
from pyk8s.apiserver.registry.rest import RESTStorage, WriteOptions
from pyk8s.machinery import validation
from pyk8s.machinery.errors import StatusError, bad_request, conflict, invalid

Obj = dict[str, Any]
TOKEN_DEFAULT_SECONDS = 3600
TOKEN_MIN_SECONDS = 600
TOKEN_MAX_SECONDS = 1 << 32  # upstream's validation bound; --service-account-max-token-expiration caps lower
BOUND_KINDS = {"Pod": "pods", "Secret": "secrets", "Node": "nodes"}


def _rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class TokenREST:
    def __init__(self, store: RESTStorage) -> None:
        self.store = store

    async def create(self, namespace: str, name: str, body: Obj, opts: WriteOptions, peers: Peers) -> Obj:
        issuer = peers.token_signer
        if issuer is None:
            raise StatusError(503, "ServiceUnavailable", "service account tokens are not configured on this server")
        meta = dict(body.get("metadata") or {})
        _check_meta(meta, namespace, name)
        sa = await self.store.get(namespace, name)
        spec = dict(body.get("spec") or {})
        spec["audiences"] = list(spec.get("audiences") or issuer.api_audiences)
        seconds = spec.get("expirationSeconds")
        spec["expirationSeconds"] = seconds = TOKEN_DEFAULT_SECONDS if seconds is None else seconds
        _validate(spec)
        bound = await _bound_objects(peers, namespace, name, spec)
        if 0 < issuer.max_expiration_seconds < seconds:
            opts.warnings.append(f"requested expiration of {seconds} seconds shortened to "
                                 f"{issuer.max_expiration_seconds} seconds")
            spec["expirationSeconds"] = seconds = issuer.max_expiration_seconds
        lifetime, warn_after = seconds, 0
        if (issuer.extend_expiration and bound.get("pod") is not None and seconds == satokens.WARN_ONLY_SECONDS
                and issuer.is_api_audiences(spec["audiences"])):
            lifetime, warn_after = satokens.EXTENDED_SECONDS, seconds
        now = time.time()
        claims = satokens.bound_claims(issuer=issuer.issuer, audiences=spec["audiences"], service_account=sa,
                                       seconds=lifetime, warn_after=warn_after, now=now, **bound)
        meta.update(name=name, namespace=namespace, creationTimestamp=_rfc3339(now))
        return {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1", "metadata": meta, "spec": spec,
                "status": {"token": issuer.sign(claims), "expirationTimestamp": _rfc3339(int(now) + seconds)}}


def _check_meta(meta: Obj, namespace: str, name: str) -> None:
    for key, want, what in (("name", name, "name"), ("namespace", namespace, "namespace")):
        if meta.get(key) and meta[key] != want:
            raise invalid("TokenRequest", name, [validation.invalid(
                f"metadata.{key}", meta[key], f"must match the service account {what} if specified").to_cause()],
                group="authentication.k8s.io")


def _validate(spec: Obj) -> None:
    seconds = spec["expirationSeconds"]
    errs = []
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise bad_request(f"spec.expirationSeconds: Invalid value: {seconds!r}: must be an integer")
    if seconds < TOKEN_MIN_SECONDS:
        errs.append(validation.invalid("spec.expirationSeconds", seconds,
                                       "may not specify a duration less than 10 minutes"))
    if seconds > TOKEN_MAX_SECONDS:
        errs.append(validation.invalid("spec.expirationSeconds", seconds,
                                       "may not specify a duration larger than 2^32 seconds"))
    if errs:
        raise invalid("TokenRequest", "", [e.to_cause() for e in errs], group="authentication.k8s.io")


def _store(peers: Peers, plural: str) -> Any:
    store = peers.lookup("", plural)
    if store is None:
        raise StatusError(503, "ServiceUnavailable", f"{plural} are not served")
    return store


async def _bound_objects(peers: Peers, namespace: str, account: str, spec: Obj) -> dict[str, Obj | None]:
    """The pod, Secret or node ``spec.boundObjectRef`` names (``spec`` gets its uid), for the token's claims."""
    ref = spec.get("boundObjectRef")
    if not isinstance(ref, dict) or not ref:
        spec["boundObjectRef"] = None
        return {}
    kind, api_version, name = str(ref.get("kind") or ""), str(ref.get("apiVersion") or ""), str(ref.get("name") or "")
    plural = BOUND_KINDS.get(kind) if api_version == "v1" else None
    group, _, version = api_version.rpartition("/")
    if plural is None:
        raise bad_request(f"cannot bind token to object of type {group}/{version}, Kind={kind}")
    obj = await _store(peers, plural).get("" if kind == "Node" else namespace, name)
    uid = str((obj.get("metadata") or {}).get("uid", ""))
    out: dict[str, Obj | None] = {kind.lower(): obj}
    if kind == "Pod":
        if ((obj.get("spec") or {}).get("serviceAccountName") or "default") != account:
            raise bad_request(f'cannot bind token for serviceaccount "{account}" to pod running with different '
                              "serviceaccount name.")
        node_name = (obj.get("spec") or {}).get("nodeName")
        nodes = peers.lookup("", "nodes")
        if node_name and nodes is not None:
            try:
                out["node"] = await nodes.get("", node_name)
            except StatusError:
                pass  # as upstream: a pod-bound token without node claims when the node cannot be read
    if ref.get("uid") and ref["uid"] != uid:
        raise conflict(kind, name, "", f"the UID in the bound object reference ({ref['uid']}) does not match the "
                       "UID in record. The object might have been deleted and then recreated")
    spec["boundObjectRef"] = {**ref, "uid": uid}
    return out
