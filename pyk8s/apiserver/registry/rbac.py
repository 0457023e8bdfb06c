"""Stores of the RBAC kinds: the generic store plus escalation prevention (``authorization.escalation``).

Upstream checks escalation in the rbac REST storage, after the object is
defaulted and validated and before it is written; here that is the
validating admission phase of creates and updates (patches included, on
the patched object).
"""

from __future__ import annotations

from typing import Any

from pyk8s.apiserver.authorization import escalation
from pyk8s.apiserver.registry.generic import GenericStore

Obj = dict[str, Any]


class RoleStore(GenericStore):
    async def _admit(self, operation: str, obj: Obj, old: Obj | None, *args: Any, **kwargs: Any) -> None:
        await super()._admit(operation, obj, old, *args, **kwargs)
        if kwargs.get("validating"):
            await escalation.check_role(self.resource.plural, obj)


class BindingStore(GenericStore):
    async def _admit(self, operation: str, obj: Obj, old: Obj | None, *args: Any, **kwargs: Any) -> None:
        await super()._admit(operation, obj, old, *args, **kwargs)
        if kwargs.get("validating"):
            await escalation.check_binding(self.resource.plural, obj)
