"""A deep copy for decoded JSON documents (dicts, lists and scalars), as the API server handles them.

``copy.deepcopy`` keeps a memo of every container it copies and dispatches on each value's type
through several layers of calls; a document decoded from JSON has no shared or cyclic parts and only
six types, so a direct walk does the same work in about a quarter of the time.  Anything else
(a tuple, a datetime from a YAML body) goes to ``copy.deepcopy`` unchanged.  Containers referenced
twice (YAML aliases) come out as two independent copies, which is what a later mutation wants.
"""

from __future__ import annotations

import copy
from typing import TypeVar

T = TypeVar("T")
_ATOMS = frozenset({str, int, float, bool, type(None)})


def json_copy(value: T) -> T:
    """An independent copy of ``value``."""
    kind = type(value)
    if kind is dict:
        return {k: v if type(v) in _ATOMS else json_copy(v) for k, v in value.items()}  # type: ignore[attr-defined,return-value]
    if kind is list:
        return [v if type(v) in _ATOMS else json_copy(v) for v in value]  # type: ignore[attr-defined,return-value]
    if kind in _ATOMS:
        return value
    return copy.deepcopy(value)

