"""The chain's per-request-kind plugin lists and Pod Security's per-namespace policy memo: both must
answer exactly as asking every plugin (and parsing the labels) on every request would."""

from typing import Any

from pyk8s.apiserver.admission.chain import Chain
from pyk8s.apiserver.admission.interface import CREATE, UPDATE, Attributes, Plugin
from pyk8s.apiserver.registry import Registry
from pyk8s.apiserver.registry.rest import WriteOptions

from .conftest import pod, refused, store


class Recording(Plugin):
    """Records the objects it admitted and validated."""

    resources = frozenset({("", "pods")})

    def __init__(self, name: str) -> None:
        self.name = name
        self.seen: list[tuple[str, str]] = []

    async def admit(self, registry: Registry, attrs: Attributes) -> None:
        self.seen.append(("admit", attrs.name))

    async def validate(self, registry: Registry, attrs: Attributes) -> None:
        self.seen.append(("validate", attrs.name))


class ByLabel(Recording):
    """Takes only objects labelled ``take``: its ``handles`` reads the object, so it is asked every time."""

    def handles(self, attrs: Attributes) -> bool:
        return "take" in ((attrs.obj.get("metadata") or {}).get("labels") or {})


class OnCreate(Recording):
    static_handles = True

    def handles(self, attrs: Attributes) -> bool:
        return super().handles(attrs) and attrs.operation == CREATE


def attrs(operation: str, name: str, plural: str = "pods", subresource: str = "", **labels: str) -> Attributes:
    obj: dict[str, Any] = {"metadata": {"name": name, "namespace": "n", "labels": labels}}
    return Attributes(operation, "", plural, obj, None, subresource=subresource)


async def test_object_dependent_handles_is_asked_per_request() -> None:
    plugin = ByLabel("by-label")
    chain = Chain([plugin])
    registry: Any = None
    await chain.admit(registry, attrs(CREATE, "a"))
    await chain.admit(registry, attrs(CREATE, "b", take="yes"))  # same kind of request, another answer
    await chain.validate(registry, attrs(CREATE, "c"))
    await chain.validate(registry, attrs(CREATE, "d", take="yes"))
    assert plugin.seen == [("admit", "b"), ("validate", "d")]


async def test_static_handles_follow_operation_resource_and_subresource() -> None:
    default, create_only = Recording("default"), OnCreate("create-only")
    chain = Chain([default, create_only])
    registry: Any = None
    for a in (attrs(CREATE, "p1"), attrs(UPDATE, "p2"), attrs(CREATE, "p3", subresource="status"),
              attrs(CREATE, "s1", plural="services"), attrs(CREATE, "p4")):
        await chain.admit(registry, a)
    assert default.seen == [("admit", "p1"), ("admit", "p2"), ("admit", "p4")]
    assert create_only.seen == [("admit", "p1"), ("admit", "p4")]


async def test_pod_security_sees_a_namespace_relabelled_between_creates(registry: Registry) -> None:
    namespaces, pods = store(registry, "", "namespaces"), store(registry, "", "pods")
    await namespaces.create("", {"metadata": {"name": "ps"}}, WriteOptions())
    await store(registry, "", "serviceaccounts").create("ps", {"metadata": {"name": "default"}}, WriteOptions())
    privileged = pod("a", namespace="ps", hostNetwork=True)
    await pods.create("ps", privileged, WriteOptions())  # no labels: privileged, remembered as such
    ns = await namespaces.get("", "ps")
    ns["metadata"]["labels"] = {"pod-security.kubernetes.io/enforce": "baseline"}
    await namespaces.update("", "ps", ns, WriteOptions())
    err = await refused(pods.create("ps", pod("b", namespace="ps", hostNetwork=True), WriteOptions()))
    assert err.code == 403 and 'violates PodSecurity "baseline:latest": host namespaces' in err.message
    ns = await namespaces.get("", "ps")
    del ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
    await namespaces.update("", "ps", ns, WriteOptions())
    await pods.create("ps", pod("c", namespace="ps", hostNetwork=True), WriteOptions())


async def test_pod_security_policy_memo_is_per_namespace(registry: Registry) -> None:
    namespaces, pods = store(registry, "", "namespaces"), store(registry, "", "pods")
    for name, labels in (("open", {}), ("strict", {"pod-security.kubernetes.io/enforce": "baseline"})):
        await namespaces.create("", {"metadata": {"name": name, "labels": labels}}, WriteOptions())
        await store(registry, "", "serviceaccounts").create(name, {"metadata": {"name": "default"}}, WriteOptions())
    for i in range(2):  # alternating namespaces: each keeps its own answer
        await pods.create("open", pod(f"o{i}", namespace="open", hostNetwork=True), WriteOptions())
        await refused(pods.create("strict", pod(f"s{i}", namespace="strict", hostNetwork=True), WriteOptions()))


class ValidateOnly(Plugin):
    """Keeps Plugin's empty ``admit``: the chain leaves it out of the mutating phase only."""

    resources = frozenset({("", "pods")})

    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log

    async def validate(self, registry: Registry, attrs: Attributes) -> None:
        self.log.append(f"{self.name}.validate")


class AdmitOnly(ValidateOnly):
    """Inherits ValidateOnly's ``validate`` and adds an ``admit``: both phases are its own."""

    async def admit(self, registry: Registry, attrs: Attributes) -> None:
        self.log.append(f"{self.name}.admit")


async def test_each_phase_calls_every_plugin_that_has_it_in_chain_order() -> None:
    """A plugin is skipped in a phase only when it keeps Plugin's empty method for it; an ``admit``
    or ``validate`` from a subclass, a base class or set on the instance still runs, in order."""
    log: list[str] = []
    first, second, third = ValidateOnly("first", log), AdmitOnly("second", log), Plugin()
    third.name, third.resources = "third", frozenset({("", "pods")})

    async def third_admit(registry: Registry, attrs: Attributes) -> None:
        log.append("third.admit")

    third.admit = third_admit  # type: ignore[method-assign]
    chain = Chain([first, second, third])
    registry: Any = None
    for _ in range(2):  # the second request reads the remembered lists
        await chain.admit(registry, attrs(CREATE, "p"))
        await chain.validate(registry, attrs(CREATE, "p"))
    assert log == ["second.admit", "third.admit", "first.validate", "second.validate"] * 2
