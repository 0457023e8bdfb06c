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

Per request, the work that depends only on the policy is done once per policy
change instead: what a user (name and groups) is granted in a namespace is
resolved into ``Grants`` (the rules in the order the bindings are visited,
each with its allow reason, grouped by verb, and the missing roles' error)
and kept until any of the four kinds changes; checking that none changed
costs four comparisons while the watch caches are caught up.  Decisions are
the same as walking the bindings each time: the same rules in the same order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyk8s.apiserver.authorization.attributes import Attributes
from pyk8s.apiserver.authorization.caches import caught_up
from pyk8s.apiserver.authorization.decision import Decision
from pyk8s.apiserver.authorization.rules import ALL, Rule, compile_rules
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
    # (user name, groups, namespace) -> Grants; emptied by every setter (the policy changed).
    _grants: dict[tuple[str, tuple[str, ...], str], Grants] = field(default_factory=dict, repr=False,
                                                                       compare=False)

    @classmethod
    def build(cls, *, cluster_roles: Iterable[Obj] = (), roles: Iterable[Obj] = (),
              cluster_bindings: Iterable[Obj] = (), bindings: Iterable[Obj] = ()) -> PolicyIndex:
        idx = cls()
        idx.set_cluster_roles(cluster_roles)
        idx.set_roles(roles)
        idx.set_cluster_bindings(cluster_bindings)
        idx.set_bindings(bindings)
        return idx

    def set_cluster_roles(self, objs: Iterable[Obj]) -> None:
        self.cluster_roles = {_meta(o)[1]: compile_rules(o.get("rules") or []) for o in objs}
        self._grants.clear()

    def set_roles(self, objs: Iterable[Obj]) -> None:
        self.roles = {_meta(o): compile_rules(o.get("rules") or []) for o in objs}
        self._grants.clear()

    def set_cluster_bindings(self, objs: Iterable[Obj]) -> None:
        self.cluster_bindings = _bindings(objs)
        self._grants.clear()

    def set_bindings(self, objs: Iterable[Obj]) -> None:
        self.bindings = _bindings(objs)
        self._grants.clear()

    def grants(self, user: UserInfo, namespace: str) -> Grants:
        """``granted(user, namespace)`` resolved once per policy version (see ``Grants``)."""
        key = (user.username, user.groups, namespace)
        found = self._grants.get(key)
        if found is None:
            found = Grants.of(self.granted(user, namespace))
            if len(self._grants) >= GRANTS_LIMIT:
                self._grants.clear()
            self._grants[key] = found
        return found

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


Pair = tuple[Rule, str]  # a rule and the reason an allow by it gives ("RBAC: allowed by ...")
GRANTS_LIMIT = 4096  # (user, groups, namespace) answers kept per policy version; more start the memo afresh


@dataclass(frozen=True, slots=True)
class Grants:
    """What one user (name and groups) is granted in one namespace, for one version of the policy.

    ``pairs``: every granted rule in the order ``PolicyIndex.granted`` visits them (cluster bindings
    first), so the first that allows gives the same reason as a walk of the bindings would;
    ``by_verb``: those pairs whose rule names the verb or ``*``, in the same order (a verb no rule names
    gets ``any_verb``, the ``*`` rules); ``denied``: the no-opinion reason (roles bindings point at but
    that do not exist)."""

    pairs: tuple[Pair, ...]
    by_verb: dict[str, tuple[Pair, ...]]
    any_verb: tuple[Pair, ...]
    denied: str

    @classmethod
    def of(cls, granted: Iterable[tuple[tuple[Rule, ...] | None, Grant]]) -> Grants:
        pairs: list[Pair] = []
        errors: list[str] = []
        for rules, grant in granted:
            if rules is None:
                errors.append(missing_role_error(grant.role))
                continue
            reason = f"RBAC: allowed by {grant.source}"
            pairs.extend((rule, reason) for rule in rules)
        verbs = {verb for rule, _ in pairs for verb in rule.verbs if verb != ALL}
        by_verb = {verb: tuple(p for p in pairs if verb in p[0].verbs or ALL in p[0].verbs) for verb in verbs}
        any_verb = tuple(p for p in pairs if ALL in p[0].verbs)
        return cls(tuple(pairs), by_verb, any_verb, f"RBAC: {aggregate(errors)}" if errors else "")

    def candidates(self, verb: str) -> tuple[Pair, ...]:
        """The granted rules that may allow ``verb``, in visiting order."""
        return self.by_verb.get(verb, self.any_verb)


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
        grants = idx.grants(attrs.user, attrs.namespace)
        for rule, reason in grants.candidates(attrs.verb):
            if rule.allows(attrs):
                return Decision.ALLOW, reason
        return Decision.NO_OPINION, grants.denied

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
        # The store, kept while the scheme is unchanged (a CRD served or withdrawn may replace stores).
        self._store: GenericStore | None = None
        self._stamp: tuple[int, int] | None = None

    def store(self) -> GenericStore | None:
        scheme = getattr(self.registry, "scheme", None)
        generation = getattr(scheme, "generation", None)
        if generation is None:
            return self.registry.store(GROUP, self.plural)
        stamp = (id(scheme), generation)
        if stamp != self._stamp:
            self._store, self._stamp = self.registry.store(GROUP, self.plural), stamp
        return self._store

    def unchanged(self) -> bool:
        """Without waiting: the cache is caught up with this server's writes and still at ``built``
        (False means only "look closer": ``objects_if_changed`` decides)."""
        store = self.store()
        if store is None:
            return True  # as objects_if_changed: nothing to read, the index keeps what it has
        cache = store.watch_cache()
        return cache.rev == self.built and cache.rev >= store.written and cache.ready.is_set()

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
        self._all = tuple(self.parts.values())

    async def index(self) -> PolicyIndex:
        for part in self._all:  # the common case: no RBAC object changed since the last request
            if not part.unchanged():
                break
        else:
            return self.idx
        parts = self.parts
        if (objs := await parts["clusterroles"].objects_if_changed()) is not None:
            self.idx.set_cluster_roles(objs)
        if (objs := await parts["roles"].objects_if_changed()) is not None:
            self.idx.set_roles(objs)
        if (objs := await parts["clusterrolebindings"].objects_if_changed()) is not None:
            self.idx.set_cluster_bindings(objs)
        if (objs := await parts["rolebindings"].objects_if_changed()) is not None:
            self.idx.set_bindings(objs)
        return self.idx
