"""Put the default RBAC policy in place at every start, as kube-apiserver's ``rbac/bootstrap-roles`` hook.

For each default role and binding: create it when missing; when it exists
and is not annotated ``rbac.authorization.kubernetes.io/autoupdate: "false"``,
add what is missing (rules the role does not yet cover, aggregation
selectors, labels and annotations, subjects) and never remove what users
added.  A binding whose ``roleRef`` differs is recreated (a roleRef cannot be
changed in place), as upstream's reconciliation does.  Aggregated roles
(admin, edit, view) get their rules from the aggregation controller, so only
their selectors are reconciled here.
"""

from __future__ import annotations

import copy
import logging
from typing import TYPE_CHECKING, Any

from pyk8s.apiserver.authorization import bootstrappolicy
from pyk8s.apiserver.authorization.escalation import missing_rules
from pyk8s.apiserver.authorization.rules import compile_rules
from pyk8s.apiserver.registry.rest import DeleteOptions, WriteOptions
from pyk8s.machinery.errors import StatusError

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry

log = logging.getLogger("pyk8s.apiserver.rbac")
Obj = dict[str, Any]
MANAGER = "kube-apiserver"


def _merge_meta(cur: Obj, want: Obj) -> bool:
    changed = False
    for key in ("labels", "annotations"):
        have = cur["metadata"].setdefault(key, {})
        for k, v in (want["metadata"].get(key) or {}).items():
            if k not in have:
                have[k] = v
                changed = True
    return changed


def reconcile_role(cur: Obj, want: Obj) -> Obj | None:
    """The updated role, or None when nothing is missing."""
    if ((cur.get("metadata") or {}).get("annotations") or {}).get(bootstrappolicy.AUTOUPDATE) == "false":
        return None
    out = copy.deepcopy(cur)
    changed = _merge_meta(out, want)
    if want.get("aggregationRule"):
        have = (out.setdefault("aggregationRule", {}) or {}).setdefault("clusterRoleSelectors", [])
        for sel in want["aggregationRule"]["clusterRoleSelectors"]:
            if sel not in have:
                have.append(sel)
                changed = True
    else:
        have_rules = list(compile_rules(out.get("rules") or []))
        for rule in want.get("rules") or []:
            if missing_rules(have_rules, compile_rules([rule])):
                out.setdefault("rules", []).append(rule)
                changed = True
    return out if changed else None


def reconcile_binding(cur: Obj, want: Obj) -> Obj | None:
    if ((cur.get("metadata") or {}).get("annotations") or {}).get(bootstrappolicy.AUTOUPDATE) == "false":
        return None
    out = copy.deepcopy(cur)
    changed = _merge_meta(out, want)
    subjects = out.setdefault("subjects", []) if want.get("subjects") else out.get("subjects")
    for s in want.get("subjects") or []:
        if subjects is not None and s not in subjects:
            subjects.append(s)
            changed = True
    return out if changed else None


async def _ensure(registry: Registry, plural: str, want: Obj) -> None:
    store = registry.store(bootstrappolicy.RBAC_GROUP, plural)
    if store is None:
        return
    meta = want["metadata"]
    ns, name = meta.get("namespace", ""), meta["name"]
    opts = WriteOptions(field_manager=MANAGER)
    try:
        cur = await store.get(ns, name)
    except StatusError as exc:
        if exc.code != 404:
            raise
        try:
            await store.create(ns, copy.deepcopy(want), opts)
        except StatusError as err:
            if err.reason != "AlreadyExists":
                raise
        return
    binding = "roleRef" in want
    if binding and cur.get("roleRef") != want["roleRef"]:
        if ((cur.get("metadata") or {}).get("annotations") or {}).get(bootstrappolicy.AUTOUPDATE) == "false":
            return
        await store.delete(ns, name, DeleteOptions())
        await store.create(ns, copy.deepcopy(want), opts)
        return
    updated = reconcile_binding(cur, want) if binding else reconcile_role(cur, want)
    if updated is not None:
        await store.update(ns, name, updated, opts)


async def ensure_service_accounts(registry: Registry) -> None:
    """The kube-system ServiceAccounts the default bindings name (each controller's, coredns,
    pyk8s-ingress).  Upstream's controller manager creates its controllers' accounts as it builds their
    clients; pyk8s's controllers authenticate with certificates for these users (``identities.py``), so
    the accounts are made here, once, for ``kubectl get serviceaccounts -n kube-system`` to show them.
    So is the ``default`` account of each namespace the server makes at start, which the service-account
    controller would make a moment later: a server run without the controller manager still admits pods
    there (the ServiceAccount admission refuses a pod whose account does not exist)."""
    store = registry.store("", "serviceaccounts")
    if store is None:
        return
    names = {s["name"] for b in bootstrappolicy.all_cluster_role_bindings() for s in b.get("subjects") or []
             if s.get("kind") == "ServiceAccount" and s.get("namespace") == "kube-system"}
    wanted = [("kube-system", name) for name in sorted(names)]
    wanted += [(ns, "default") for ns in bootstrappolicy.SYSTEM_NAMESPACES]
    for ns, name in wanted:
        try:
            await store.get(ns, name)
        except StatusError as exc:
            if exc.code != 404:
                raise
            try:
                await store.create(ns, {"apiVersion": "v1", "kind": "ServiceAccount",
                                        "metadata": {"name": name, "namespace": ns}},
                                   WriteOptions(field_manager=MANAGER))
            except StatusError as err:
                if err.reason != "AlreadyExists":
                    raise


async def ensure_policy(registry: Registry) -> None:
    """Create or top up every default ClusterRole, ClusterRoleBinding, Role and RoleBinding."""
    for role in bootstrappolicy.all_cluster_roles():
        await _ensure(registry, "clusterroles", role)
    for binding in bootstrappolicy.all_cluster_role_bindings():
        await _ensure(registry, "clusterrolebindings", binding)
    for role in bootstrappolicy.all_namespace_roles():
        await _ensure(registry, "roles", role)
    for binding in bootstrappolicy.all_namespace_role_bindings():
        await _ensure(registry, "rolebindings", binding)
    await ensure_service_accounts(registry)
    log.info("RBAC bootstrap policy in place")
