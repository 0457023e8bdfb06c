"""Taints and tolerations: upstream's ``Toleration.ToleratesTaint`` and
``FindMatchingUntoleratedTaint``.

Contract of ``tolerates(toleration, taint)``, in order:

* a non-empty effect must equal the taint's (empty tolerates every effect);
* a non-empty key must equal the taint's (empty matches every key);
* operator ``Exists`` matches any value; ``Equal`` or empty compares values
  (absent = ""), whatever the key (an empty key with ``Equal`` is refused by
  validation, but a stored one still compares values, as upstream does);
  any other operator tolerates nothing.

``tolerationSeconds`` is not looked at here: it bounds how long a NoExecute
taint is tolerated, which is the taint eviction controller's business.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

Obj = Mapping[str, Any]


def tolerates(toleration: Obj, taint: Obj) -> bool:
    """Whether ``toleration`` tolerates ``taint``."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    op = toleration.get("operator") or "Equal"
    if op == "Exists":
        return True
    if op == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def tolerated(tolerations: Iterable[Obj], taint: Obj) -> bool:
    """Whether any of ``tolerations`` tolerates ``taint``."""
    return any(tolerates(t, taint) for t in tolerations)


def find_untolerated(taints: Iterable[Obj], tolerations: Sequence[Obj], effects: Sequence[str]) -> Obj | None:
    """The first taint with one of ``effects`` that no toleration tolerates (None: all tolerated)."""
    for taint in taints:
        if taint.get("effect") in effects and not tolerated(tolerations, taint):
            return taint
    return None
