"""Pod Security's evaluation memo: for every pod, level and version it answers what the checks answer,
so pods that differ in any field a check reads are never given each other's verdict."""

import copy
import itertools
from typing import Any

import pytest

from pyk8s.apiserver.admission.podsecurity import checks, memo

COMPLIANT_SC = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True,
                "seccompProfile": {"type": "RuntimeDefault"}}


def base() -> tuple[dict[str, Any], dict[str, Any]]:
    spec = {"containers": [{"name": "c", "image": "nginx", "securityContext": copy.deepcopy(COMPLIANT_SC)}],
            "volumes": [{"name": "kube-api-access-abcde", "projected": {"sources": []}}]}
    return {"name": "p", "annotations": {}}, spec


def set_path(obj: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        obj = obj[int(part)] if isinstance(obj, list) else obj.setdefault(part, {})
    obj[last] = value  # type: ignore[index]


# One change per variant, each a field some check reads (or one none reads).
VARIANTS: list[tuple[str, str, Any]] = [
    ("spec", "hostNetwork", True), ("spec", "hostPID", True), ("spec", "hostIPC", True),
    ("spec", "containers.0.securityContext.privileged", True),
    ("spec", "containers.0.securityContext.capabilities", {"add": ["NET_ADMIN"], "drop": ["ALL"]}),
    ("spec", "containers.0.securityContext.capabilities", {"add": ["NET_BIND_SERVICE"]}),
    ("spec", "containers.0.securityContext.allowPrivilegeEscalation", True),
    ("spec", "containers.0.securityContext.runAsNonRoot", False),
    ("spec", "containers.0.securityContext.runAsUser", 0),
    ("spec", "containers.0.securityContext.seccompProfile", {"type": "Unconfined"}),
    ("spec", "containers.0.securityContext.procMount", "Unmasked"),
    ("spec", "containers.0.securityContext.seLinuxOptions", {"type": "spc_t"}),
    ("spec", "containers.0.securityContext.windowsOptions", {"hostProcess": True}),
    ("spec", "containers.0.securityContext.appArmorProfile", {"type": "Unconfined"}),
    ("spec", "containers.0.ports", [{"containerPort": 80, "hostPort": 8080}]),
    ("spec", "containers.0.name", "renamed"),
    ("spec", "securityContext", {"sysctls": [{"name": "kernel.msgmax", "value": "1"}]}),
    ("spec", "securityContext", {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}),
    ("spec", "os", {"name": "windows"}),
    ("spec", "volumes", [{"name": "h", "hostPath": {"path": "/"}}]),
    ("spec", "volumes", [{"name": "other-name", "hostPath": {"path": "/"}}]),
    ("spec", "volumes", [{"name": "n", "nfs": {"server": "s", "path": "/"}}]),
    ("spec", "volumes", [{"name": "kube-api-access-zzzzz", "projected": {"sources": []}}]),
    ("spec", "initContainers", [{"name": "i", "image": "x"}]),
    ("spec", "ephemeralContainers", [{"name": "e", "image": "x", "securityContext": {"privileged": True}}]),
    ("meta", "annotations", {"container.apparmor.security.beta.kubernetes.io/c": "unconfined"}),
    ("meta", "annotations", {"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}),
    ("meta", "annotations", {"container.seccomp.security.alpha.kubernetes.io/c": "unconfined"}),
    ("meta", "annotations", {"unrelated": "x"}),
    ("meta", "name", "another-pod"),
]


@pytest.mark.parametrize("level,version", list(itertools.product(("baseline", "restricted"),
                                                                   ("latest", "v1.18", "v1.24", "v1.32"))))
def test_memo_answers_as_the_checks(level: str, version: str) -> None:
    memo._memo.clear()
    cases = [base()]
    for changes in itertools.chain(((v,) for v in VARIANTS), itertools.combinations(VARIANTS, 2)):
        meta, spec = base()
        for where, path, value in changes:
            set_path(meta if where == "meta" else spec, path, copy.deepcopy(value))
        cases.append((meta, spec))
    for _ in range(2):  # the second pass is answered from the memo
        for meta, spec in cases:
            assert memo.evaluate(level, meta, spec, version) == checks.evaluate(level, meta, spec, version), \
                (meta, spec)


def test_pods_differing_only_in_names_share_an_entry() -> None:
    memo._memo.clear()
    meta, spec = base()
    memo.evaluate("restricted", meta, spec, "latest")
    other_meta, other_spec = base()
    other_meta["name"] = "p2"
    other_spec["volumes"][0]["name"] = "kube-api-access-xyz12"
    memo.evaluate("restricted", other_meta, other_spec, "latest")
    assert len(memo._memo) == 1
