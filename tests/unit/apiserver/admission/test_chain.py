"""The admission chain: upstream's order, the enable/disable flags, empty slots, registration."""

import pytest

from pyk8s.apiserver.admission import chain
from pyk8s.apiserver.admission.interface import CREATE, Attributes, Plugin
from pyk8s.apiserver.registry import Registry
from pyk8s.apiserver.registry.rest import WriteOptions

from .conftest import pod, refused, store


def test_order_is_upstreams() -> None:
    names = list(chain.NAMES)
    # kube-apiserver's AllOrderedPlugins (v1.32), restricted to what pyk8s knows.
    for before, after in [("NamespaceLifecycle", "LimitRanger"), ("LimitRanger", "ServiceAccount"),
                          ("ServiceAccount", "NodeRestriction"), ("NodeRestriction", "TaintNodesByCondition"),
                          ("TaintNodesByCondition", "PodSecurity"), ("PodSecurity", "Priority"),
                          ("Priority", "DefaultTolerationSeconds"),
                          ("DefaultTolerationSeconds", "DefaultStorageClass"),
                          ("DefaultStorageClass", "StorageObjectInUseProtection"),
                          ("StorageObjectInUseProtection", "PersistentVolumeClaimResize"),
                          ("PersistentVolumeClaimResize", "RuntimeClass"), ("RuntimeClass", "DefaultIngressClass"),
                          ("ValidatingAdmissionWebhook", "ResourceQuota")]:
        assert names.index(before) < names.index(after)
    assert names[-1] == "ResourceQuota"


def test_default_chain_runs_the_built_plugins_in_order() -> None:
    built = chain.build_chain().names()
    assert built[:3] == ["NamespaceLifecycle", "LimitRanger", "ServiceAccount"]
    assert built == [n for n in chain.NAMES if n in built]
    for name in ("Priority", "DefaultTolerationSeconds", "DefaultStorageClass", "StorageObjectInUseProtection",
                 "ResourceQuota", "PodSecurity"):
        assert name in built


def test_flags_enable_and_disable() -> None:
    built = chain.build_chain(chain.Options(disable=("Priority", "ServiceAccount"))).names()
    assert "Priority" not in built and "ServiceAccount" not in built and "LimitRanger" in built
    with pytest.raises(ValueError, match='enable-admission-plugins plugin "Foo" is unknown'):
        chain.enabled_names(["Foo"], [])
    with pytest.raises(ValueError, match="overlapped"):
        chain.enabled_names(["Priority"], ["Priority"])
    assert chain.parse_names(["A,B", " C "]) == ("A", "B", "C")


def test_registered_plugin_keeps_its_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    class Marker(Plugin):
        name = "NodeRestriction"

    monkeypatch.setitem(chain._registered, "NodeRestriction", lambda options: Marker())
    built = chain.build_chain().names()
    assert built.index("ServiceAccount") < built.index("NodeRestriction") < built.index("Priority")


async def test_disabled_plugin_does_not_run(registry: Registry) -> None:
    registry.admission = chain.build_chain(chain.Options(disable=("DefaultTolerationSeconds",)))
    created = await store(registry, "", "pods").create("default", pod("p"), WriteOptions())
    assert not created["spec"].get("tolerations")


async def test_namespace_lifecycle_can_be_disabled(registry: Registry) -> None:
    err = await refused(store(registry, "", "configmaps").create(
        "nowhere", {"metadata": {"name": "x"}, "data": {}}, WriteOptions()))
    assert err.code == 404 and err.message == 'namespaces "nowhere" not found'


async def test_attributes_carry_the_user_and_warnings(registry: Registry) -> None:
    seen: list[Attributes] = []

    class Spy(Plugin):
        name = "Spy"
        resources = frozenset({("", "configmaps")})

        async def admit(self, registry: Registry, attrs: Attributes) -> None:
            seen.append(attrs)
            attrs.warnings.append("spied")

    registry.admission.plugins.append(Spy())
    opts = WriteOptions(user="alice", groups=("team",))
    await store(registry, "", "configmaps").create("default", {"metadata": {"name": "x"}, "data": {}}, opts)
    assert seen[0].operation == CREATE and seen[0].user == "alice" and seen[0].groups == ("team",)
    assert "spied" in opts.warnings


async def test_subresource_updates_reach_plugins_that_ask_for_them(registry: Registry) -> None:
    seen: list[tuple[str, str]] = []

    class StatusWatcher(Plugin):
        name = "StatusWatcher"

        def handles(self, attrs: Attributes) -> bool:
            return attrs.resource == ("", "pods")

        async def validate(self, registry: Registry, attrs: Attributes) -> None:
            seen.append((attrs.operation, attrs.subresource))

    registry.admission.plugins.append(StatusWatcher())
    pods = store(registry, "", "pods")
    created = await pods.create("default", pod("s"), WriteOptions())
    created["status"] = {"phase": "Running"}
    await pods.update("default", "s", created, WriteOptions(), subresource="status")
    assert seen == [("CREATE", ""), ("UPDATE", "status")]
