"""The operations to fuzz, read from the server's OpenAPI v3 documents.

Each operation of each fuzzed group-version becomes an ``Operation``.  Those
the fuzzer cannot drive are not dropped quietly: ``EXCLUDED_ACTIONS`` names
each kind of exclusion with its reason, and ``split()`` returns the excluded
ones so the test can check each against that list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: x-kubernetes-action -> why operations with it are not fuzzed.
EXCLUDED_ACTIONS = {
    "connect": "exec/attach/portforward upgrade the connection (SPDY/WebSocket) and proxy relays to kubelets and "
               "endpoints: not plain request/response, which is all this fuzzer speaks",
    "watch": "dedicated /watch/ paths are deprecated; watches are fuzzed through ?watch=true on list",
    "watchlist": "as watch",
}
#: the keys of an OpenAPI path item that are operations (every HTTP method OpenAPI has)
METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")


@dataclass
class Operation:
    method: str
    path: str
    action: str
    operation_id: str
    group_version: str
    kind: str
    parameters: list[dict[str, Any]] = field(default_factory=list)
    body_types: dict[str, str] = field(default_factory=dict)  # content type -> schema ref
    body_required: bool = False

    @property
    def id(self) -> str:
        return f"{self.method.upper()} {self.path}"

    @property
    def path_params(self) -> list[str]:
        return [p["name"] for p in self.parameters if p.get("in") == "path"]

    @property
    def query_params(self) -> dict[str, dict[str, Any]]:
        return {p["name"]: p.get("schema", {}) for p in self.parameters if p.get("in") == "query"}

    @property
    def subresource(self) -> str | None:
        _, sep, tail = self.path.partition("{name}/")
        return tail if sep else None

    @property
    def api_version(self) -> str:
        return self.group_version

    @property
    def namespaced(self) -> bool:
        return "{namespace}" in self.path

    @property
    def is_namespace_object(self) -> bool:
        """An operation on Namespace objects themselves (/api/v1/namespaces/{name}...)."""
        return self.path.startswith("/api/v1/namespaces/{name}")


def _api_version(gvk: dict[str, str]) -> str:
    return f"{gvk['group']}/{gvk['version']}" if gvk.get("group") else gvk.get("version", "v1")


def operations(doc: dict[str, Any]) -> list[Operation]:
    out = []
    for path, item in doc["paths"].items():
        shared = item.get("parameters", [])
        for method, op in item.items():
            if method not in METHODS:
                continue
            gvk = op.get("x-kubernetes-group-version-kind", {})
            body = op.get("requestBody") or {}
            out.append(Operation(
                method=method,
                path=path,
                action=op.get("x-kubernetes-action", ""),
                operation_id=op.get("operationId", ""),
                group_version=_api_version(gvk),
                kind=gvk.get("kind", ""),
                parameters=[*shared, *op.get("parameters", [])],
                body_types={ct: m.get("schema", {}).get("$ref", "") for ct, m in body.get("content", {}).items()},
                body_required=bool(body.get("required")),
            ))
    return out


def split(ops: list[Operation]) -> tuple[list[Operation], list[Operation]]:
    """(to fuzz, excluded by EXCLUDED_ACTIONS)."""
    fuzzed = [op for op in ops if op.action not in EXCLUDED_ACTIONS]
    return fuzzed, [op for op in ops if op.action in EXCLUDED_ACTIONS]
