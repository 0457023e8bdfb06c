"""Namespace lifecycle: whether a namespace still takes new content."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def is_terminating(ns: Mapping[str, Any]) -> bool:
    """Being deleted (a deletionTimestamp) or already in phase Terminating: no new objects go in."""
    return bool((ns.get("metadata") or {}).get("deletionTimestamp")) or \
        (ns.get("status") or {}).get("phase") == "Terminating"
