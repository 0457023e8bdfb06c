import copy
from typing import Any

import pytest

import pyk8s.api  # noqa: F401  (fills SCHEME)
from pyk8s.machinery.scheme import SCHEME, Strategy


def strategy(plural: str) -> Strategy:
    rt = SCHEME.get("", "v1", plural)
    assert rt is not None
    return rt.strategy


def create(plural: str, obj: dict[str, Any]) -> dict[str, Any]:
    """What the generic store does before persisting: default, prepare, (caller validates)."""
    s = strategy(plural)
    obj = copy.deepcopy(obj)
    s.default(obj)
    s.prepare_for_create(obj)
    return obj


def msgs(errs: list) -> list[str]:
    return [f"{e.field}: {e.message}" for e in errs]


@pytest.fixture
def pod() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}]}}
