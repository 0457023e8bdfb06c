"""The RBAC authorizer: Roles, ClusterRoles and their bindings, read from the API server's watch caches.

A request is allowed when a ClusterRoleBinding grants the user (by name, or
one of its groups; a ServiceAccount subject is the user
``system:serviceaccount:<ns>:<name>``) a ClusterRole with a matching rule, or
a RoleBinding in the request's namespace grants it a Role of that namespace
or a ClusterRole.  RBAC never denies: without a match it has no opinion, and
the reason names roles that bindings point at but that do not exist
(``RBAC: clusterrole.rbac.authorization.k8s.io "x" not found``), as upstream.

``PolicyIndex`` holds the four kinds arranged for lookups by subject;
``CachedPolicy`` rebuilds the part of it whose watch cache moved, so with a
thousand RoleBindings a request still costs a few dictionary lookups.  The
cache answers once it reflects every RBAC write this server made (a binding
created a moment ago already counts), as ``cachedreads`` does for admission.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyk8s.apiserver.authorization.attributes import Attributes
from pyk8s.apiserver.authorization.caches import caught_up
from pyk8s.apiserver.authorization.decision import Decision
from pyk8s.apiserver.authorization.rules import Rule, compile_rules
from pyk8s.apiserver.filters.authn import UserInfo

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry
    from pyk8s.apiserver.registry.generic import GenericStore

Obj = dict[str, Any]
GROUP = "rbac.authorization.k8s.io"
SubjectKey = tuple[str, str]  # ("u", user name) or ("g", group name)
RoleRef = tuple[str, str]  # (kind, name)


@dataclass(frozen=True, slots=True)
class Grant:
    """One binding's grant to one subject, and how upstream describes it (``RBAC: allowed by ...``)."""

    role: RoleRef
    source: str


def subject_key(subject: Obj, binding_namespace: str) -> SubjectKey | None:
    kind, name = subject.get("kind"), subject.get("name") or ""
    if kind == "User":
        return ("u", name)
    if kind == "Group":
        return ("g", name)
    if kind == "ServiceAccount":
        ns = subject.get("namespace") or binding_namespace
        return ("u", f"system:serviceaccount:{ns}:{name}")
    return None


def user_keys(user: UserInfo) -> list[SubjectKey]:
    return [("u", user.username), *(("g", g) for g in user.groups)]


def _meta(obj: Obj) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return meta.get("namespace") or "", meta.get("name") or ""


def describe_subject(subject: Obj, binding_namespace: str) -> str:
    kind, name = subject.get("kind") or "", subject.get("name") or ""
    if kind == "ServiceAccount":
        return f'{kind} "{name}/{subject.get("namespace") or binding_namespace}"'
    return f'{kind} "{name}"'


def _bindings(objs: Iterable[Obj]) -> dict[tuple[str, SubjectKey], list[Grant]]:
    out: dict[tuple[str, SubjectKey], list[Grant]] = {}
    for obj in objs:
        ns, name = _meta(obj)
        ref = obj.get("roleRef") or {}
        role: RoleRef = (str(ref.get("kind") or ""), str(ref.get("name") or ""))
        what = f'RoleBinding "{name}/{ns}"' if ns else f'ClusterRoleBinding "{name}"'
        for subject in obj.get("subjects") or []:
            key = subject_key(subject, ns) if isinstance(subject, dict) else None
            if key is not None:
                source = f'{what} of {role[0]} "{role[1]}" to {describe_subject(subject, ns)}'
                out.setdefault((ns, key), []).append(Grant(role, source))
    return out


@dataclass
class PolicyIndex:
    """Roles by name and bindings by (namespace, subject); cluster-scoped things have namespace ""."""

    cluster_roles: dict[str, tuple[Rule, ...]] = field(default_factory=dict)
    roles: dict[tuple[str, str], tuple[Rule, ...]] = field(default_factory=dict)
    cluster_bindings: dict[tuple[str, SubjectKey], list[Grant]] = field(default_factory=dict)
    bindings: dict[tuple[str, SubjectKey], list[Grant]] = field(default_factory=dict)

    @classmethod
    def build(cls, *, cluster_roles: Iterable[Obj] = (), roles: Iterable[Obj] = (),
              cluster_bindings: Iterable[Obj] = (), bindings: Iterable[Obj] = ()) -> PolicyIndex:
        idx = cls()
        idx.set_cluster_roles(cluster_roles)
        idx.set_roles(roles)
        idx.cluster_bindings = _bindings(cluster_bindings)
        idx.bindings = _bindings(bindings)
        return idx

    def set_cluster_roles(self, objs: Iterable[Obj]) -> None:
        self.cluster_roles = {_meta(o)[1]: compile_rules(o.get("rules") or []) for o in objs}

    def set_roles(self, objs: Iterable[Obj]) -> None:
        self.roles = {_meta(o): compile_rules(o.get("rules") or []) for o in objs}

    def role_rules(self, ref: RoleRef, namespace: str) -> tuple[Rule, ...] | None:
        """The rules of a binding's role (None: the role does not exist)."""
        kind, name = ref
        if kind == "ClusterRole":
            return self.cluster_roles.get(name)
        if kind == "Role":
            return self.roles.get((namespace, name))
        return None

    def granted(self, user: UserInfo, namespace: str) -> Iterable[tuple[tuple[Rule, ...] | None, Grant]]:
        """(rules or None when the role is missing, grant) for every binding that applies to ``user`` in
        ``namespace`` (cluster bindings first; "" asks about cluster-wide grants only)."""
        keys = user_keys(user)
        for key in keys:
            for grant in self.cluster_bindings.get(("", key), ()):
                yield self.role_rules(grant.role, ""), grant
        if namespace:
            for key in keys:
                for grant in self.bindings.get((namespace, key), ()):
                    yield self.role_rules(grant.role, namespace), grant


def missing_role_error(ref: RoleRef) -> str:
    return f'{ref[0].lower()}.{GROUP} "{ref[1]}" not found'


def aggregate(errors: list[str]) -> str:
    """Go's ``utilerrors.NewAggregate(errs).Error()``: one message alone, several in brackets."""
    unique = list(dict.fromkeys(errors))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


class RBACAuthorizer:
    """Upstream's RBAC authorizer over a ``PolicyIndex`` source (``CachedPolicy`` in the server)."""

    def __init__(self, source: CachedPolicy | PolicyIndex) -> None:
        self.source = source

    async def index(self) -> PolicyIndex:
        if isinstance(self.source, PolicyIndex):
            return self.source
        return await self.source.index()

    async def authorize(self, attrs: Attributes) -> tuple[Decision, str]:
        idx = await self.index()
        errors: list[str] = []
        for rules, grant in idx.granted(attrs.user, attrs.namespace):
            if rules is None:
                errors.append(missing_role_error(grant.role))
                continue
            for rule in rules:
                if rule.allows(attrs):
                    return Decision.ALLOW, f"RBAC: allowed by {grant.source}"
        return Decision.NO_OPINION, f"RBAC: {aggregate(errors)}" if errors else ""

    async def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[Rule], list[str]]:
        """Every rule granted to ``user`` in ``namespace`` (cluster-wide only for ""), and resolution errors."""
        idx = await self.index()
        rules: list[Rule] = []
        errors: list[str] = []
        for granted, grant in idx.granted(user, namespace):
            if granted is None:
                errors.append(missing_role_error(grant.role))
            else:
                rules.extend(granted)
        return rules, errors


class _Part:
    """One RBAC resource's watch cache and the revision the index was last built at."""

    def __init__(self, registry: Registry, plural: str) -> None:
        self.registry, self.plural = registry, plural
        self.built = -1

    def store(self) -> GenericStore | None:
        return self.registry.store(GROUP, self.plural)

    async def objects_if_changed(self) -> list[Obj] | None:
        store = self.store()
        if store is None:
            return None
        cache = await caught_up(store)
        if cache.rev == self.built:
            return None
        self.built = cache.rev
        return list(cache.state.values())


class CachedPolicy:
    """A ``PolicyIndex`` kept in step with the registry's RBAC watch caches."""

    def __init__(self, registry: Registry) -> None:
        self.idx = PolicyIndex()
        self.parts = {p: _Part(registry, p) for p in ("clusterroles", "roles", "clusterrolebindings", "rolebindings")}

    async def index(self) -> PolicyIndex:
        parts = self.parts
        if (objs := await parts["clusterroles"].objects_if_changed()) is not None:
            self.idx.set_cluster_roles(objs)
        if (objs := await parts["roles"].objects_if_changed()) is not None:
            self.idx.set_roles(objs)
        if (objs := await parts["clusterrolebindings"].objects_if_changed()) is not None:
            self.idx.cluster_bindings = _bindings(objs)
        if (objs := await parts["rolebindings"].objects_if_changed()) is not None:
            self.idx.bindings = _bindings(objs)
        return self.idx
