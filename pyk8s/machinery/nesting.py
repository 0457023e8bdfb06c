"""How deeply a decoded request may nest.

Upstream's JSON decoder refuses nesting past 10,000 levels.  Python recurses
(copying, merging, walking schemas, orjson itself stops at 255 when encoding),
so pyk8s refuses far earlier: no Kubernetes object comes near this depth, and
every later recursive step stays well inside the interpreter's stack.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pyk8s.machinery.errors import StatusError, bad_request

#: Deepest nesting of objects and arrays a request body, patch or stored object may have.
MAX_DEPTH = 100


def too_deep(value: Any, limit: int = MAX_DEPTH) -> str | None:
    """The bracket (``{`` or ``[``) that opens the first level past ``limit``, or None.

    Iterative, so an arbitrarily deep document cannot exhaust the stack here.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return "{" if isinstance(item, dict) else "["
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return None


def depth_error(bracket: str) -> StatusError:
    """The 400 worded as Go's JSON scanner words it."""
    return bad_request(f"error decoding request body: invalid character '{bracket}' exceeded max depth")


def check_depth(value: Any, limit: int = MAX_DEPTH) -> Any:
    """``value`` unchanged, or the 400 when it nests past ``limit``."""
    bracket = too_deep(value, limit)
    if bracket is not None:
        raise depth_error(bracket)
    return value
