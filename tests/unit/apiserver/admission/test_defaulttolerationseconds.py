"""DefaultTolerationSeconds: the two NoExecute tolerations a new pod gets, the same whether the pod states no
tolerations (the prebuilt pair, copied per pod) or some (each default added unless already covered)."""

from typing import Any

from pyk8s.apiserver.admission.defaulttolerationseconds import DefaultTolerationSeconds
from pyk8s.apiserver.admission.interface import CREATE, UPDATE, Attributes

NOT_READY, UNREACHABLE = "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"


def toleration(key: str, seconds: int) -> dict[str, Any]:
    return {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": seconds}


async def admitted(plugin: DefaultTolerationSeconds, spec: dict[str, Any], operation: str = CREATE) -> Any:
    obj = {"metadata": {"name": "p", "namespace": "n"}, "spec": spec}
    registry: Any = None
    await plugin.admit(registry, Attributes(operation, "", "pods", obj))
    return obj["spec"].get("tolerations")


async def test_a_pod_without_tolerations_gets_both_and_its_own_copies() -> None:
    plugin = DefaultTolerationSeconds(not_ready_seconds=30, unreachable_seconds=60)
    specs: list[dict[str, Any]] = [{}, {"tolerations": []}, {"tolerations": None}]
    for spec in specs:
        assert await admitted(plugin, spec) == [toleration(NOT_READY, 30), toleration(UNREACHABLE, 60)]
    first = await admitted(plugin, {})
    first[0]["tolerationSeconds"] = 1  # a later plugin (or webhook) changing one pod's toleration...
    first.append({"key": "x"})
    assert await admitted(plugin, {}) == [toleration(NOT_READY, 30), toleration(UNREACHABLE, 60)]  # ...not the next's


async def test_stated_tolerations_are_kept_and_cover_the_defaults() -> None:
    plugin = DefaultTolerationSeconds()
    mine = {"key": "gpu", "operator": "Exists"}
    assert await admitted(plugin, {"tolerations": [mine]}) == [mine, toleration(NOT_READY, 300),
                                                                toleration(UNREACHABLE, 300)]
    own = {"key": NOT_READY, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}
    assert await admitted(plugin, {"tolerations": [own]}) == [own, toleration(UNREACHABLE, 300)]
    everything = {"operator": "Exists"}  # no key, no effect: tolerates every taint
    assert await admitted(plugin, {"tolerations": [everything]}) == [everything]
    assert await admitted(plugin, {}, operation=UPDATE) is None
