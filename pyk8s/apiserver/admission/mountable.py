"""The mountable-secrets rule of the ServiceAccount admission plugin (upstream's limitSecretReferences).

A ServiceAccount annotated ``kubernetes.io/enforce-mountable-secrets`` with a true value (Go's
``strconv.ParseBool`` spellings) lets its pods use only the Secrets its ``secrets`` field lists (secret
volumes, ``env[].valueFrom.secretKeyRef`` and ``envFrom[].secretRef`` of init and app containers) and
only the pull secrets its ``imagePullSecrets`` lists; ephemeral containers added later are held to the
same list.  Each refusal is upstream's sentence; the annotation itself is deprecated since v1.32, and
creating or updating an account that carries it warns as upstream's ServiceAccount strategy does.
"""

from __future__ import annotations

from typing import Any

ANNOTATION = "kubernetes.io/enforce-mountable-secrets"
EPHEMERAL = "ephemeralcontainers"
DEPRECATION = (f"metadata.annotations[{ANNOTATION}]: deprecated in v1.32+; prefer separate namespaces to "
               "isolate access to mounted secrets")
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_DENIED = "is not allowed because service account {account} does not reference that secret"

Obj = dict[str, Any]


def deprecation_warnings(account: Obj) -> list[str]:
    """Upstream's warning for an account carrying the annotation (whatever its value)."""
    annotations = (account.get("metadata") or {}).get("annotations") or {}
    return [DEPRECATION] if ANNOTATION in annotations else []


def enforced(account: Obj) -> bool:
    annotations = (account.get("metadata") or {}).get("annotations") or {}
    return annotations.get(ANNOTATION) in _TRUE


def _names(refs: Any) -> set[str]:
    return {str(r.get("name") or "") for r in refs or [] if isinstance(r, dict)}


def _container_violation(kind: str, container: Obj, allowed: set[str], account: str) -> str:
    name = container.get("name", "")
    for env in container.get("env") or []:
        ref = ((env or {}).get("valueFrom") or {}).get("secretKeyRef")
        if isinstance(ref, dict) and ref.get("name", "") not in allowed:
            return (f'{kind} {name} with envVar {env.get("name", "")} referencing secret.secretName="{ref.get("name", "")}" '
                    + _DENIED.format(account=account))
    for source in container.get("envFrom") or []:
        ref = (source or {}).get("secretRef")
        if isinstance(ref, dict) and ref.get("name", "") not in allowed:
            return (f'{kind} {name} with envFrom referencing secret.secretName="{ref.get("name", "")}" '
                    + _DENIED.format(account=account))
    return ""


def _containers(spec: Obj, field: str) -> list[Obj]:
    return [c for c in spec.get(field) or [] if isinstance(c, dict)]


def violation(account: Obj, spec: Obj) -> str:
    """The first reference of a new pod the account does not allow, in upstream's words ("" if none)."""
    allowed, name = _names(account.get("secrets")), (account.get("metadata") or {}).get("name", "")
    for volume in spec.get("volumes") or []:
        secret = (volume or {}).get("secret")
        if isinstance(secret, dict) and secret.get("secretName", "") not in allowed:
            return f'volume with secret.secretName="{secret.get("secretName", "")}" ' + _DENIED.format(account=name)
    for kind, field in (("init container", "initContainers"), ("container", "containers")):
        for container in _containers(spec, field):
            if problem := _container_violation(kind, container, allowed, name):
                return problem
    pull = _names(account.get("imagePullSecrets"))
    for i, ref in enumerate(spec.get("imagePullSecrets") or []):
        if isinstance(ref, dict) and ref.get("name", "") not in pull:
            return (f'imagePullSecrets[{i}].name="{ref.get("name", "")}" is not allowed because service account '
                    f"{name} does not reference that imagePullSecret")
    return ""


def ephemeral_violation(account: Obj, spec: Obj) -> str:
    """The same for the ephemeral containers of a pods/ephemeralcontainers update."""
    allowed, name = _names(account.get("secrets")), (account.get("metadata") or {}).get("name", "")
    for container in _containers(spec, "ephemeralContainers"):
        if problem := _container_violation("ephemeral container", container, allowed, name):
            return problem
    return ""
