"""Jittered exponential back-off for retry loops (reflector, leader election).

``next()`` returns the delay to wait now and doubles the base for the next
failure, up to ``cap``; ``reset()`` after a success.  Jitter (up to +``jitter``
fraction) keeps many clients from retrying in lockstep.
"""

from __future__ import annotations

import random


class Backoff:
    def __init__(self, initial: float = 0.8, cap: float = 30.0, factor: float = 2.0, jitter: float = 0.1,
                 rng: random.Random | None = None) -> None:
        self.initial = initial
        self.cap = cap
        self.factor = factor
        self.jitter = jitter
        self._rng = rng or random.Random()
        self._current = initial

    def next(self) -> float:
        delay = self._current * (1 + self.jitter * self._rng.random())
        self._current = min(self.cap, self._current * self.factor)
        return min(delay, self.cap * (1 + self.jitter))

    def reset(self) -> None:
        self._current = self.initial
