"""The admission chain: upstream's plugin order, which plugins are on, and the two phases.

``ORDER`` is kube-apiserver's ``AllOrderedPlugins`` (v1.32) restricted to the plugins pyk8s
knows.  Each name maps to a module of this package exposing ``build(options) -> Plugin``;
a module that does not exist (yet) is skipped, so a plugin is added by writing its module
(``noderestriction.py``, say) and nothing else.  Plugins built outside this package may
``register(name, factory)`` instead.  The webhook slots are filled by ``mutatingwebhook.py`` and
``validatingwebhook.py`` (``pyk8s/apiserver/webhooks``).  Names upstream has but pyk8s does not build
(ValidatingAdmissionPolicy) keep their slot: enabling them is accepted and logged.

On by default: upstream's default set plus NodeRestriction (kubeadm enables it), changed with
``--enable-admission-plugins`` / ``--disable-admission-plugins`` as kube-apiserver does: the
order never depends on the flag's order, and naming an unknown plugin is an error.

Phases: every enabled plugin's ``admit`` in order (mutating), then, after the strategy's
validation, every ``validate`` in order (validating), ResourceQuota last.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyk8s.apiserver.admission.interface import Attributes, Plugin

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry

log = logging.getLogger("pyk8s.apiserver.admission")

# (upstream name, module in this package)
ORDER: tuple[tuple[str, str], ...] = (
    ("NamespaceLifecycle", "namespacelifecycle"),
    ("LimitRanger", "limitranger"),
    ("ServiceAccount", "serviceaccount"),
    ("NodeRestriction", "noderestriction"),
    ("TaintNodesByCondition", "taintnodesbycondition"),
    ("PodSecurity", "podsecurity"),
    ("Priority", "priority"),
    ("DefaultTolerationSeconds", "defaulttolerationseconds"),
    ("DefaultStorageClass", "defaultstorageclass"),
    ("StorageObjectInUseProtection", "storageobjectinuseprotection"),
    ("PersistentVolumeClaimResize", "persistentvolumeclaimresize"),
    ("RuntimeClass", "runtimeclass"),
    ("CertificateApproval", "certificateapproval"),
    ("CertificateSigning", "certificatesigning"),
    ("CertificateSubjectRestriction", "certificatesubjectrestriction"),
    ("DefaultIngressClass", "defaultingressclass"),
    ("MutatingAdmissionWebhook", "mutatingwebhook"),
    ("ValidatingAdmissionPolicy", "validatingadmissionpolicy"),
    ("ValidatingAdmissionWebhook", "validatingwebhook"),
    ("ResourceQuota", "resourcequota"),
)
NAMES = tuple(name for name, _ in ORDER)
DEFAULT_OFF: frozenset[str] = frozenset()  # upstream's default-off plugins pyk8s knows are all absent from ORDER
DEFAULT_ON = frozenset(NAMES) - DEFAULT_OFF

Factory = Callable[["Options"], Plugin]
_registered: dict[str, Factory] = {}


def register(name: str, factory: Factory) -> None:
    """Provide a plugin from outside this package (it keeps ``name``'s place in ``ORDER``)."""
    if name not in NAMES:
        raise ValueError(f"admission plugin {name!r} has no place in the chain's order")
    _registered[name] = factory


@dataclass(slots=True)
class Options:
    """What plugins are built from: the flags kube-apiserver gives them."""

    enable: tuple[str, ...] = ()
    disable: tuple[str, ...] = ()
    not_ready_toleration_seconds: int = 300
    unreachable_toleration_seconds: int = 300
    extra: dict[str, object] = field(default_factory=dict)


def parse_names(values: Iterable[str]) -> tuple[str, ...]:
    """Comma-separated flag values (repeatable) into names."""
    return tuple(n.strip() for v in values for n in v.split(",") if n.strip())


def enabled_names(enable: Iterable[str], disable: Iterable[str]) -> list[str]:
    """Upstream's rule: the default set, plus ``enable``, minus ``disable``, in ``ORDER``."""
    enable, disable = list(enable), list(disable)
    for flag, names in (("enable-admission-plugins", enable), ("disable-admission-plugins", disable)):
        for name in names:
            if name not in NAMES:
                raise ValueError(f"{flag} plugin \"{name}\" is unknown")
    both = set(enable) & set(disable)
    if both:
        raise ValueError(f"{', '.join(sorted(both))} in enable-admission-plugins and disable-admission-plugins "
                         f"overlapped")
    on = (DEFAULT_ON | set(enable)) - set(disable)
    return [name for name in NAMES if name in on]


def _factory(name: str, module: str) -> Factory | None:
    if name in _registered:
        return _registered[name]
    qualified = f"{__package__}.{module}"
    try:
        mod = importlib.import_module(qualified)
    except ModuleNotFoundError as exc:
        if exc.name != qualified:
            raise
        return None
    build: Factory = mod.build
    return build


class Chain:
    """The enabled plugins, in order."""

    def __init__(self, plugins: list[Plugin]) -> None:
        self.plugins = plugins
        # Per (operation, group, plural, subresource): the plugins that may take such a request, for the
        # mutating and for the validating phase.  A plugin whose ``handles`` reads only those four is
        # decided once here; one that also looks at the object (``static_handles`` False) is kept and
        # still asked per request.  A plugin that keeps Plugin's empty ``admit`` (or ``validate``) is
        # left out of that phase's list: calling it would do nothing (most plugins have one phase only).
        self._candidates: dict[tuple[str, str, str, str],
                               tuple[list[tuple[Plugin, bool]], list[tuple[Plugin, bool]]]] = {}
        self._lifecycle = self.plugin("NamespaceLifecycle")  # every namespaced create asks for it

    def _for(self, attrs: Attributes) -> tuple[list[tuple[Plugin, bool]], list[tuple[Plugin, bool]]]:
        """(the mutating phase's candidates, the validating phase's), in the chain's order."""
        key = (attrs.operation, attrs.group, attrs.plural, attrs.subresource)
        found = self._candidates.get(key)
        if found is None:
            probe = Attributes(attrs.operation, attrs.group, attrs.plural, {}, subresource=attrs.subresource)
            both = [(p, static) for p in self.plugins if not (static := _static(p)) or p.handles(probe)]
            found = ([c for c in both if _acts(c[0], "admit")], [c for c in both if _acts(c[0], "validate")])
            self._candidates[key] = found
        return found

    def names(self) -> list[str]:
        return [p.name for p in self.plugins]

    def plugin(self, name: str) -> Plugin | None:
        return next((p for p in self.plugins if p.name == name), None)

    async def admit_namespace(self, registry: Registry, namespace: str, resource: str = "", name: str = "",
                              group: str = "") -> None:
        """NamespaceLifecycle, which runs before the store looks at the body (see its module)."""
        plugin = self._lifecycle
        if plugin is not None:
            await plugin.check(registry, namespace, resource, name, group)  # type: ignore[attr-defined]

    async def admit(self, registry: Registry, attrs: Attributes) -> None:
        for plugin, static in self._for(attrs)[0]:
            if static or plugin.handles(attrs):
                await plugin.admit(registry, attrs)

    async def validate(self, registry: Registry, attrs: Attributes) -> None:
        for plugin, static in self._for(attrs)[1]:
            if static or plugin.handles(attrs):
                await plugin.validate(registry, attrs)

    async def admit_other(self, registry: Registry, attrs: Attributes) -> None:
        """DELETE and CONNECT: both phases at once, by the plugins that take the operation (upstream's
        ``Handles(op)``; the webhooks, ``pyk8s/apiserver/webhooks/operations.py``)."""
        plugins = [p for p in self.plugins if attrs.operation in p.operations and p.handles(attrs)]
        for plugin in plugins:
            await plugin.admit(registry, attrs)
        for plugin in plugins:
            await plugin.validate(registry, attrs)


def _static(plugin: Plugin) -> bool:
    """Whether ``plugin.handles`` depends on the request's operation, resource and subresource only:
    Plugin's own does; an override says so with ``static_handles = True``."""
    static = plugin.static_handles
    return type(plugin).handles is Plugin.handles if static is None else static


def _acts(plugin: Plugin, phase: str) -> bool:
    """Whether ``plugin`` has a phase of its own: its class or the instance overrides Plugin's empty one."""
    return phase in getattr(plugin, "__dict__", ()) or getattr(type(plugin), phase) is not getattr(Plugin, phase)


def build_chain(options: Options | None = None) -> Chain:
    """The chain the flags ask for; plugins whose module is not built are left out (logged once)."""
    options = options or Options()
    plugins: list[Plugin] = []
    modules = dict(ORDER)
    for name in enabled_names(options.enable, options.disable):
        factory = _factory(name, modules[name])
        if factory is None:
            log.debug("admission plugin %s is not built in pyk8s; its slot in the chain is empty", name)
            continue
        plugins.append(factory(options))
    return Chain(plugins)


__all__ = ["DEFAULT_ON", "NAMES", "ORDER", "Chain", "Options", "build_chain", "enabled_names", "parse_names",
           "register"]
