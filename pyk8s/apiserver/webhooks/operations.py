"""DELETE and CONNECT as admission sees them (upstream's delete and connect handlers).

A DELETE is admitted with the stored object as ``oldObject`` and no ``object``; a CONNECT (``pods/exec``,
``attach``, ``portforward``, ``proxy``; ``services/proxy``; ``nodes/proxy``) with the request's options
as ``object`` (``PodExecOptions``, ``PodAttachOptions``, ``PodPortForwardOptions``, ``PodProxyOptions``,
``ServiceProxyOptions``, ``NodeProxyOptions``, as its query decodes into them).  Both run the mutating
and then the validating phase at once (``Chain.admit_other``), before the deletion or the connection.
Only API requests are admitted: the server's own deletions (a CRD's objects, reconciled roles) are
trusted, as upstream's storage calls are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyk8s.apiserver.admission.interface import CONNECT, DELETE, Attributes

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry

Obj = dict[str, Any]
_OPTION_KINDS = {
    ("pods", "exec"): "PodExecOptions", ("pods", "attach"): "PodAttachOptions",
    ("pods", "portforward"): "PodPortForwardOptions", ("pods", "proxy"): "PodProxyOptions",
    ("services", "proxy"): "ServiceProxyOptions", ("nodes", "proxy"): "NodeProxyOptions",
}
CONNECT_SUBRESOURCES = frozenset(sub for _, sub in _OPTION_KINDS)
_STREAMS = ("stdin", "stdout", "stderr", "tty")


@dataclass
class ConnectAttributes(Attributes):
    """A CONNECT's attributes: the object is the options, so the name and namespace are the path's."""

    target_name: str = ""
    target_namespace: str = ""

    @property
    def name(self) -> str:
        return self.target_name

    @property
    def namespace(self) -> str:
        return self.target_namespace


def _on(query: Mapping[str, str], key: str) -> bool:
    return query.get(key, "").lower() in ("1", "true")


def connect_options(plural: str, subresource: str, query: Any, proxy_path: str = "") -> Obj | None:
    """The versioned options object of a CONNECT (None for a subresource that is not one)."""
    kind = _OPTION_KINDS.get((plural, subresource))
    if kind is None:
        return None
    obj: Obj = {"kind": kind, "apiVersion": "v1"}
    if subresource in ("exec", "attach"):
        obj.update({key: True for key in _STREAMS if _on(query, key)})
        if query.get("container"):
            obj["container"] = query["container"]
        if subresource == "exec":
            obj["command"] = list(query.getall("command", [])) if hasattr(query, "getall") else []
    elif subresource == "portforward":
        ports = [int(p) for p in (query.getall("ports", []) if hasattr(query, "getall") else []) if p.isdigit()]
        if ports:
            obj["ports"] = ports
    elif proxy_path:
        obj["path"] = proxy_path if proxy_path.startswith("/") else "/" + proxy_path  # upstream's leading slash
    return obj


def _requester() -> tuple[str, tuple[str, ...]] | None:
    # Imported here: the authorization context's import chain reaches the generic store, which imports us.
    from pyk8s.apiserver.authorization.context import REQUEST

    ctx = REQUEST.get()
    return None if ctx is None else (ctx.user.username, tuple(ctx.user.groups))


async def admit_delete(registry: Registry | None, group: str, plural: str, obj: Obj, dry_run: bool,
                       warnings: list[str]) -> None:
    """Admission of an API request's deletion of ``obj`` (the stored object); the webhooks' warnings
    are added to ``warnings``."""
    who = _requester()
    if registry is None or who is None:
        return
    attrs = Attributes(DELETE, group, plural, obj, obj, user=who[0], groups=who[1], dry_run=dry_run,
                       warnings=warnings)
    await registry.admission.admit_other(registry, attrs)


async def admit_connect(registry: Any, group: str, plural: str, namespace: str, name: str,
                        subresource: str, query: Any, proxy_path: str = "") -> list[str]:
    """Admission of a CONNECT request (exec, attach, port-forward, proxy) before it is served
    (``registry``: the HTTP layer's registry; one without an admission chain admits everything).
    Returns the webhooks' warnings."""
    options = connect_options(plural, subresource, query, proxy_path)
    if options is None or getattr(registry, "admission", None) is None:
        return []
    who = _requester() or ("", ())
    attrs = ConnectAttributes(CONNECT, group, plural, options, None, subresource=subresource, user=who[0],
                              groups=who[1], target_name=name, target_namespace=namespace)
    await registry.admission.admit_other(registry, attrs)
    return attrs.warnings
