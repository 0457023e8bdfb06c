"""The replica arithmetic of a Deployment rollout (``deployment/util``).

``maxSurge`` rounds percentages up and ``maxUnavailable`` rounds them down,
and when both resolve to 0 one pod may be unavailable (``ResolveFenceposts``).
``new_rs_replicas`` is ``NewRSNewReplicas``; ``proportion`` is
``GetProportion``, which spreads a scaling event across the active
ReplicaSets in proportion to their size relative to the ``max-replicas``
annotation each carries.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from pyk8s.controllers.deployment import revision

Obj = Mapping[str, Any]
DEFAULT_SURGE = "25%"
DEFAULT_UNAVAILABLE = "25%"


def scaled_value(value: int | str | None, total: int, *, round_up: bool) -> int:
    """``GetScaledValueFromIntOrPercent``."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    if not value.endswith("%"):
        raise ValueError(f"invalid value for IntOrString: invalid type: string is not a percentage: {value}")
    scaled = int(value[:-1]) * total / 100
    return math.ceil(scaled) if round_up else math.floor(scaled)


def replicas(d: Obj) -> int:
    value = d.get("spec", {}).get("replicas", 1)
    return 1 if value is None else int(value)


def rs_replicas(rs: Obj | None) -> int:
    return 0 if rs is None else int(rs.get("spec", {}).get("replicas") or 0)


def is_rolling(d: Obj) -> bool:
    return (d.get("spec", {}).get("strategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"


def fenceposts(d: Obj) -> tuple[int, int]:
    """``ResolveFenceposts``: (surge, unavailable) for the deployment's replicas."""
    ru = (d.get("spec", {}).get("strategy") or {}).get("rollingUpdate") or {}
    desired = replicas(d)
    surge = scaled_value(ru.get("maxSurge", DEFAULT_SURGE), desired, round_up=True)
    unavailable = scaled_value(ru.get("maxUnavailable", DEFAULT_UNAVAILABLE), desired, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def max_surge(d: Obj) -> int:
    return fenceposts(d)[0] if is_rolling(d) else 0


def max_unavailable(d: Obj) -> int:
    if not is_rolling(d) or replicas(d) == 0:
        return 0
    return min(fenceposts(d)[1], replicas(d))


def spec_total(rss: Sequence[Obj | None]) -> int:
    return sum(rs_replicas(rs) for rs in rss if rs is not None)


def status_total(rss: Sequence[Obj | None], field: str) -> int:
    return sum(int((rs.get("status") or {}).get(field) or 0) for rs in rss if rs is not None)


def new_rs_replicas(d: Obj, all_rss: Sequence[Obj | None], new_rs: Obj) -> int:
    """``NewRSNewReplicas``: how big the new ReplicaSet may be now."""
    if not is_rolling(d):
        return replicas(d)
    current = spec_total(all_rss)
    max_total = replicas(d) + max_surge(d)
    if current >= max_total:
        return rs_replicas(new_rs)
    scale_up = min(max_total - current, replicas(d) - rs_replicas(new_rs))
    return rs_replicas(new_rs) + scale_up


def _go_round(value: float) -> int:
    # math.Round: halves away from zero (Python's round() is banker's rounding).
    return int(math.floor(abs(value) + 0.5)) * (1 if value >= 0 else -1)


def _fraction(rs: Obj, d: Obj) -> int:
    if replicas(d) == 0:
        return -rs_replicas(rs)
    target = replicas(d) + max_surge(d)
    annotated = revision.int_annotation(rs, revision.MAX_REPLICAS)
    if annotated is None:
        annotated = int((d.get("status") or {}).get("replicas") or 0)
    if annotated == 0:
        return 0
    return _go_round(rs_replicas(rs) * target / annotated) - rs_replicas(rs)


def proportion(rs: Obj | None, d: Obj, to_add: int, added: int) -> int:
    """``GetProportion``: this set's share of ``to_add``, given ``added`` so far."""
    if rs is None or rs_replicas(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = _fraction(rs, d)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)
