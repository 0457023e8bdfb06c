"""Checks every written object goes through: the body must describe what the URL names.

A body may omit apiVersion and kind (they are filled in), but if it carries
them they must match; likewise metadata.namespace and metadata.name.
"""

from __future__ import annotations

from typing import Any

from pyk8s.machinery.errors import bad_request
from pyk8s.machinery.scheme import ResourceType

Obj = dict[str, Any]


def check_type(obj: Obj, api_version: str, kind: str) -> None:
    """A body's apiVersion and kind, when present, must be those of the URL."""
    got_version = obj.get("apiVersion")
    if got_version and got_version != api_version:
        raise bad_request(f"the API version in the data ({got_version}) does not match the expected API version ({api_version})")
    got_kind = obj.get("kind")
    if got_kind and got_kind != kind:
        raise bad_request(f"the kind in the data ({got_kind}) does not match the expected kind ({kind})")
    obj.setdefault("apiVersion", api_version)
    obj.setdefault("kind", kind)


def check_namespace(obj: Obj, namespace: str, rt: ResourceType) -> None:
    meta = obj.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise bad_request("metadata: must be an object")
    if not rt.namespaced:
        return
    got = meta.get("namespace")
    if got and got != namespace:
        raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
    meta["namespace"] = namespace


def check_name(obj: Obj, name: str) -> None:
    got = (obj.get("metadata") or {}).get("name")
    if got and got != name:
        raise bad_request(f"the name of the object ({got}) does not match the name on the URL ({name})")
    obj["metadata"]["name"] = name
