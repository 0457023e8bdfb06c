"""ClusterRole aggregation controller: an ``aggregationRule`` fills the role's rules.

Upstream's controller: for every ClusterRole with an aggregationRule, the
rules are every rule of the ClusterRoles its ``clusterRoleSelectors`` select
(selector by selector, roles sorted by name, duplicates dropped); the role is
updated when that differs from what it holds.  Any ClusterRole change
re-enqueues every aggregated role, so adding a role labelled
``rbac.authorization.k8s.io/aggregate-to-view: "true"`` extends view, edit
and admin (edit aggregates view, admin aggregates edit).
"""

from __future__ import annotations

from typing import Any

from pyk8s.client.errors import ApiError, is_conflict, is_not_found
from pyk8s.client.rest import DynamicResource
from pyk8s.client.tools.controller import Controller
from pyk8s.controllers.manager import ControllerContext
from pyk8s.machinery.labels import matches_label_selector

Obj = dict[str, Any]
CLUSTER_ROLES = DynamicResource("rbac.authorization.k8s.io", "v1", "clusterroles", False, "ClusterRole")


def aggregated_rules(role: Obj, roles: list[Obj]) -> list[Obj]:
    """The rules ``role``'s aggregationRule selects from ``roles``."""
    name = (role.get("metadata") or {}).get("name")
    out: list[Obj] = []
    others = sorted((r for r in roles if (r.get("metadata") or {}).get("name") != name),
                    key=lambda r: (r.get("metadata") or {}).get("name") or "")
    for selector in (role.get("aggregationRule") or {}).get("clusterRoleSelectors") or []:
        for other in others:
            if not matches_label_selector(selector or {}, (other.get("metadata") or {}).get("labels") or {}):
                continue
            for rule in other.get("rules") or []:
                if rule not in out:
                    out.append(rule)
    return out


class ClusterRoleAggregationController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.roles = ctx.factory.informer(CLUSTER_ROLES)
        self.controller = Controller("clusterrole-aggregation", self.sync, informers=[self.roles], clock=ctx.clock,
                                     workers=int(ctx.option("clusterrole_aggregation_workers", 1)))
        self.ready = self.controller.ready
        self.roles.add_event_handler(on_add=self._changed, on_update=lambda old, new: self._changed(new),
                                     on_delete=self._changed)

    def _changed(self, _obj: Any) -> None:
        for role in self.roles.store.list():
            if role.get("aggregationRule"):
                self.controller.queue.add((role.get("metadata") or {}).get("name") or "")

    async def run(self) -> None:
        await self.controller.run()

    async def sync(self, key: str) -> None:
        role = self.roles.lister.get(key)
        if role is None or not role.get("aggregationRule"):
            return
        rules = aggregated_rules(role, self.roles.store.list())
        if rules == (role.get("rules") or []):
            return
        updated = {**role, "rules": rules}
        try:
            await self.client.update(CLUSTER_ROLES, updated)
        except ApiError as exc:
            if is_not_found(exc):
                return
            if is_conflict(exc):
                self.controller.queue.add(key)  # the informer brings the newer one; try again
                return
            raise


def new(ctx: ControllerContext) -> ClusterRoleAggregationController:
    return ClusterRoleAggregationController(ctx)
