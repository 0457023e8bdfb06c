"""Resource arithmetic for scheduling: what a pod requests, what a node offers.

The rules live in ``pyk8s.api.core_v1.helpers.resources`` (upstream's
``PodRequests``: containers and sidecars summed, the init sequence's peak,
overhead); this module adds the scheduler's own piece, the non-zero
defaults scoring uses for containers that request no cpu or memory.
Amounts are milli-CPU for ``cpu`` and whole units for everything else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyk8s.api.core_v1.helpers.resources import (
    CPU,
    EPHEMERAL_STORAGE,
    MEMORY,
    PODS,
    Resources,
    amount,
    pod_requests,
    to_resources,
)

__all__ = ["CPU", "EPHEMERAL_STORAGE", "MEMORY", "PODS", "Resources", "amount", "non_zero_requests",
           "pod_requests", "to_resources"]

# Scoring treats a container with no cpu/memory request as if it asked for this
# much, so zero-request pods still spread (upstream's non-zero defaults).
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024
_NON_ZERO = {CPU: DEFAULT_MILLI_CPU_REQUEST, MEMORY: DEFAULT_MEMORY_REQUEST}


def non_zero_requests(pod: Mapping[str, Any]) -> tuple[int, int]:
    """(milli-cpu, memory) for scoring: ``PodRequests`` with the non-zero defaults for missing requests."""
    req = pod_requests(pod, non_missing=_NON_ZERO)
    return req.get(CPU, 0), req.get(MEMORY, 0)
