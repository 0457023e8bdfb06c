"""A resource's storage bundle: its main store and its subresources, assembled in one place.

``make_store(rt, storage, registry)`` builds the main store; ``subresources`` maps a
subresource name to a factory taking that store and returning what the HTTP layer
calls (``get``/``update``/``patch`` for scale, ``create`` for binding...).  Built-in
kinds get theirs from ``special.builtin_bundle``; resources added at run time (a CRD's
versions) are served through a bundle installed with ``Registry.install`` and go
again with ``Registry.uninstall``.  Subresources without a registry-side
implementation (eviction, token, the pod streams...) are still served by the HTTP
layer's generic code (issue 12 §1 moves them here next).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class ResourceBundle:
    make_store: Callable[..., Any]
    subresources: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
