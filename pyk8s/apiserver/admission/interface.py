"""The admission contract: one request's ``Attributes`` and the ``Plugin`` base.

The generic store builds an ``Attributes`` for every create and update
(``subresource`` set for ``status`` and other subresource updates, which
most plugins ignore: ``Plugin.handles``), then the chain (``chain.py``) runs every enabled plugin's ``admit``
(mutating phase, on the defaulted body) and later every plugin's ``validate``
(validating phase, after the strategy's validation, right before the write).
A plugin names the ``(group, plural)`` resources it cares about and refuses a
request by raising a ``StatusError``; it may add Warning texts
(``attrs.warnings``, sent as ``Warning`` headers) and audit annotations
(``attrs.audit_annotations``: kept on the request; no audit log is written yet).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyk8s.machinery import errors

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry

Obj = dict[str, Any]
CREATE = "CREATE"
UPDATE = "UPDATE"
DELETE = "DELETE"
CONNECT = "CONNECT"


@dataclass
class Attributes:
    """One admission request: the operation and the object (``old`` on updates), and who asks."""

    operation: str
    group: str
    plural: str
    obj: Obj
    old: Obj | None = None
    subresource: str = ""
    user: str = ""
    groups: tuple[str, ...] = ()
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)
    audit_annotations: dict[str, str] = field(default_factory=dict)

    @property
    def resource(self) -> tuple[str, str]:
        return (self.group, self.plural)

    @property
    def name(self) -> str:
        """The name errors use: before generation, the generateName prefix (as upstream)."""
        meta = self.obj.get("metadata") or {}
        return meta.get("name") or meta.get("generateName") or "Unknown"

    @property
    def namespace(self) -> str:
        return str((self.obj.get("metadata") or {}).get("namespace") or "")

    def forbidden(self, message: str) -> errors.StatusError:
        """``<resource> "<name>" is forbidden: <message>`` (admission.NewForbidden)."""
        return errors.forbidden(message, self.plural, self.name, self.group)


class Plugin:
    """One admission plugin.  ``name`` is upstream's (``--enable-admission-plugins`` spells it)."""

    name: str = ""
    resources: frozenset[tuple[str, str]] = frozenset()
    # The operations it takes: DELETE and CONNECT reach only plugins that name them (``Chain.admit_other``).
    operations: frozenset[str] = frozenset({"CREATE", "UPDATE"})
    # True when an overriding ``handles`` reads only the operation, group, plural and subresource, so
    # the chain decides it once per such request kind (None: only Plugin's own ``handles`` is taken so).
    static_handles: bool | None = None

    def handles(self, attrs: Attributes) -> bool:
        """Whether this request concerns the plugin; by default main-resource writes of ``resources``
        (a plugin that polices subresources, as NodeRestriction does pods/status, overrides it)."""
        return not attrs.subresource and attrs.resource in self.resources

    async def admit(self, registry: Registry, attrs: Attributes) -> None:
        """Mutating phase: may change ``attrs.obj``."""

    async def validate(self, registry: Registry, attrs: Attributes) -> None:
        """Validating phase: may only refuse."""


PODS = ("", "pods")

__all__ = ["CONNECT", "CREATE", "DELETE", "PODS", "UPDATE", "Attributes", "Obj", "Plugin"]
