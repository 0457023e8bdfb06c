"""``--authorization-mode``: the authorizers a request is put to, in order (upstream's union authorizer).

The first authorizer that allows or denies decides; when none has an opinion
the request is refused with every reason given, one per line.  As in
kube-apiserver, members of ``system:masters`` are allowed before any mode is
asked (the privileged-groups authorizer), so the admin never depends on
RBAC objects.  Modes: ``Node``, ``RBAC``, ``AlwaysAllow``, ``AlwaysDeny``;
the default is ``Node,RBAC``, as kubeadm sets it.

``rules_for`` answers SelfSubjectRulesReview from the same authorizers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pyk8s.apiserver.authorization.attributes import Attributes
from pyk8s.apiserver.authorization.decision import AlwaysAllow, AlwaysDeny, Authorizer, Decision
from pyk8s.apiserver.authorization.node import NodeAuthorizer, NodeGraph, node_name
from pyk8s.apiserver.authorization.rbac import CachedPolicy, RBACAuthorizer
from pyk8s.apiserver.authorization.rules import Rule, compile_rules
from pyk8s.apiserver.filters.authn import UserInfo

MODES = ("AlwaysAllow", "AlwaysDeny", "Node", "RBAC")
DEFAULT_MODES = ("Node", "RBAC")
PRIVILEGED_GROUP = "system:masters"
_EVERYTHING = compile_rules([{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
                             {"verbs": ["*"], "nonResourceURLs": ["*"]}])


def parse_modes(values: Iterable[str]) -> tuple[str, ...]:
    """``--authorization-mode`` values (comma-separated, repeatable), checked as kube-apiserver does."""
    modes = tuple(m.strip() for v in values for m in v.split(",") if m.strip())
    if not modes:
        return DEFAULT_MODES
    for mode in modes:
        if mode not in MODES:
            raise ValueError(f'authorization-mode "{mode}" is not a valid mode')
    dup = [m for i, m in enumerate(modes) if m in modes[:i]]
    if dup:
        raise ValueError(f'authorization-mode "{dup[0]}" has mode specified more than once')
    return modes


@dataclass
class RulesAnswer:
    """What SelfSubjectRulesReview reports."""

    rules: list[Rule] = field(default_factory=list)
    incomplete: bool = False
    errors: list[str] = field(default_factory=list)


class UnionAuthorizer:
    def __init__(self, modes: tuple[str, ...], authorizers: list[Authorizer]) -> None:
        self.modes = modes
        self.authorizers = authorizers

    async def authorize(self, attrs: Attributes) -> tuple[Decision, str]:
        if PRIVILEGED_GROUP in attrs.user.groups:
            return Decision.ALLOW, ""
        reasons: list[str] = []
        for authorizer in self.authorizers:
            decision, reason = await authorizer.authorize(attrs)
            if decision is not Decision.NO_OPINION:
                return decision, reason
            if reason:
                reasons.append(reason)
        return Decision.NO_OPINION, "\n".join(reasons)

    async def allowed(self, attrs: Attributes) -> bool:
        return (await self.authorize(attrs))[0] is Decision.ALLOW

    async def rules_for(self, user: UserInfo, namespace: str) -> RulesAnswer:
        answer = RulesAnswer()
        for authorizer in self.authorizers:
            if isinstance(authorizer, AlwaysAllow):
                answer.rules.extend(_EVERYTHING)
            elif isinstance(authorizer, RBACAuthorizer):
                rules, errors = await authorizer.rules_for(user, namespace)
                answer.rules.extend(rules)
                answer.errors.extend(errors)
            elif isinstance(authorizer, NodeAuthorizer) and node_name(user):
                answer.incomplete = True  # the Node authorizer cannot list what it allows (as upstream)
                answer.errors.append("node authorizer does not support user rule resolution")
        answer.incomplete = answer.incomplete or bool(answer.errors)
        return answer

    def rbac(self) -> RBACAuthorizer | None:
        return next((a for a in self.authorizers if isinstance(a, RBACAuthorizer)), None)


def build_authorizer(modes: tuple[str, ...], registry: object) -> UnionAuthorizer | None:
    """The union for ``modes``; Node and RBAC read ``registry``'s watch caches (a pyk8s ``Registry``).
    None (no authorization filter) when those modes have no registry to read: only test servers built
    over a fake registry, which has no RBAC objects to hold a policy."""
    from pyk8s.apiserver.registry import Registry

    stores = registry if isinstance(registry, Registry) else None
    if stores is None and ("Node" in modes or "RBAC" in modes):
        return None
    authorizers: list[Authorizer] = []
    for mode in modes:
        if mode == "AlwaysAllow":
            authorizers.append(AlwaysAllow())
        elif mode == "AlwaysDeny":
            authorizers.append(AlwaysDeny())
        elif mode == "Node" and stores is not None:
            authorizers.append(NodeAuthorizer(NodeGraph(stores)))
        elif mode == "RBAC" and stores is not None:
            authorizers.append(RBACAuthorizer(CachedPolicy(stores)))
    return UnionAuthorizer(modes, authorizers)
