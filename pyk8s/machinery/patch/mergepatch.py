"""RFC 7386 JSON merge patch: objects merge recursively, ``null`` deletes a key,
anything else (lists included) replaces the target value."""

from __future__ import annotations

import copy
from typing import Any


def apply_merge_patch(original: Any, patch: Any) -> Any:
    """The merged document; neither argument is modified."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(original) if isinstance(original, dict) else {}
    _merge_into(result, patch)
    return result


def _merge_into(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict):
            current = target.get(key)
            if not isinstance(current, dict):
                current = {}
                target[key] = current
            _merge_into(current, value)
        else:
            target[key] = copy.deepcopy(value)
