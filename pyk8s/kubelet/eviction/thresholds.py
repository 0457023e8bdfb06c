"""Node-pressure eviction thresholds: the ``--eviction-*`` flags as upstream's ``ParseThresholdConfig`` reads them.

* ``--eviction-hard`` (default ``memory.available<100Mi,nodefs.available<10%,
  imagefs.available<15%,nodefs.inodesFree<5%``): met thresholds act at once.
  As in v1.32, a flag that names some signals replaces the whole default
  (the others are then unset, not inherited).
* ``--eviction-soft`` with ``--eviction-soft-grace-period`` (every soft
  signal needs one): met thresholds act once they stayed met that long.
* ``--eviction-minimum-reclaim``: once met, a threshold stays met until that
  much more than its quantity is available again.
* ``--eviction-pressure-transition-period`` (5m): a pressure condition stays
  True that long after its last threshold stopped being met.

A quantity is absolute (``100Mi``) or a percentage of the signal's capacity (``10%``).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from pyk8s.machinery import quantity
from pyk8s.machinery.duration import parse_duration

MEMORY_AVAILABLE = "memory.available"
NODEFS_AVAILABLE = "nodefs.available"
NODEFS_INODES_FREE = "nodefs.inodesFree"
IMAGEFS_AVAILABLE = "imagefs.available"
IMAGEFS_INODES_FREE = "imagefs.inodesFree"
PID_AVAILABLE = "pid.available"
SIGNALS = (MEMORY_AVAILABLE, NODEFS_AVAILABLE, NODEFS_INODES_FREE, IMAGEFS_AVAILABLE, IMAGEFS_INODES_FREE,
           PID_AVAILABLE)
DEFAULT_HARD = "memory.available<100Mi,nodefs.available<10%,imagefs.available<15%,nodefs.inodesFree<5%"
DEFAULT_TRANSITION_PERIOD = 300.0

# The node condition each signal drives, and the resource an eviction reclaims (upstream's signalToResource).
CONDITION = {MEMORY_AVAILABLE: "MemoryPressure", NODEFS_AVAILABLE: "DiskPressure",
             NODEFS_INODES_FREE: "DiskPressure", IMAGEFS_AVAILABLE: "DiskPressure",
             IMAGEFS_INODES_FREE: "DiskPressure", PID_AVAILABLE: "PIDPressure"}
RESOURCE = {MEMORY_AVAILABLE: "memory", NODEFS_AVAILABLE: "ephemeral-storage", NODEFS_INODES_FREE: "inodes",
            IMAGEFS_AVAILABLE: "ephemeral-storage", IMAGEFS_INODES_FREE: "inodes", PID_AVAILABLE: "pids"}


@dataclass(frozen=True)
class Threshold:
    signal: str
    absolute: quantity.Quantity | None = None  # absolute; else ``percentage`` of capacity
    percentage: Fraction | None = None
    grace_period: float = 0.0  # 0 for hard thresholds
    min_reclaim: quantity.Quantity | None = None
    min_reclaim_percentage: Fraction | None = None

    @property
    def hard(self) -> bool:
        return self.grace_period == 0

    def amount(self, capacity: int) -> int:
        """The threshold's quantity on a signal of ``capacity`` (upstream ``GetThresholdQuantity``)."""
        if self.absolute is not None:
            return self.absolute.int_value()
        return int(capacity * float(self.percentage or 0))

    def reclaim(self, capacity: int) -> int:
        if self.min_reclaim is not None:
            return self.min_reclaim.int_value()
        return int(capacity * float(self.min_reclaim_percentage or 0))

    def describe(self, capacity: int) -> str:
        """The quantity as upstream's message prints it (``100Mi``; a percentage becomes bytes)."""
        if self.absolute is not None:
            return str(self.absolute)
        return str(quantity.Quantity(Fraction(self.amount(capacity)), quantity.BINARY_SI))


@dataclass(frozen=True)
class EvictionConfig:
    thresholds: tuple[Threshold, ...] = ()
    pressure_transition_period: float = DEFAULT_TRANSITION_PERIOD
    monitoring_interval: float = 10.0


def default_config() -> EvictionConfig:
    return EvictionConfig(thresholds=parse_config(DEFAULT_HARD))


def _split_map(text: str, sep: str, flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in (s.strip() for s in text.split(",")):
        if not item:
            continue
        key, found, value = item.partition(sep)
        if not found:
            raise ValueError(f"invalid argument {text!r} for \"{flag}\" flag: malformed pair, expect string{sep}string")
        out[key.strip()] = value.strip()
    return out


def _float32(x: float) -> float:
    return float(struct.unpack("f", struct.pack("f", x))[0])


def _percentage(value: str) -> Fraction:
    """Upstream parses percentages as float32 (10% is 0.100000001...), which shows in the quantities it derives."""
    try:
        parsed = float(value.rstrip("%"))
    except ValueError:
        raise ValueError(f'strconv.ParseFloat: parsing "{value.rstrip("%")}": invalid syntax') from None
    return Fraction(_float32(_float32(parsed) / 100))


def _parse_quantity(value: str) -> quantity.Quantity:
    try:
        return quantity.parse(value)
    except quantity.QuantityError as exc:
        raise ValueError(str(exc)) from None


def _threshold_value(signal: str, value: str) -> tuple[quantity.Quantity | None, Fraction | None] | None:
    """``parseThresholdStatement``: None for the ignored 0% and 100%."""
    if value.endswith("%"):
        if value in ("0%", "100%"):
            return None
        percent = _percentage(value)
        if percent < 0:
            raise ValueError(f"eviction percentage threshold {signal} must be >= 0%: {value}")
        if percent > 1:
            raise ValueError(f"eviction percentage threshold {signal} must be <= 100%: {value}")
        return None, percent
    parsed = _parse_quantity(value)
    if parsed.value <= 0:
        raise ValueError(f"eviction threshold {signal} must be positive: {parsed}")
    return parsed, None


def _min_reclaim(signal: str, value: str) -> tuple[quantity.Quantity | None, Fraction | None]:
    if value.endswith("%"):
        if _percentage(value) <= 0:
            raise ValueError(f"eviction percentage minimum reclaim {signal} must be positive: {value}")
        return None, _percentage(value)
    parsed = _parse_quantity(value)
    if parsed.value < 0:
        raise ValueError(f"negative eviction minimum reclaim specified for {signal}")
    return parsed, None


def parse_config(hard: str = DEFAULT_HARD, soft: str = "", soft_grace: str = "",
                 min_reclaim: str = "") -> tuple[Threshold, ...]:
    """The thresholds the flags describe; ValueError with upstream's wording when they are invalid."""
    graces = {}
    for signal, text in _split_map(soft_grace, "=", "--eviction-soft-grace-period").items():
        _check_signal(signal)
        try:
            graces[signal] = parse_duration(text)
        except ValueError:
            raise ValueError(f"invalid grace period {text!r} for signal {signal}: time: invalid duration") from None
        if graces[signal] < 0:
            raise ValueError(f"invalid eviction grace period specified: {text}, must be a positive value")
    reclaims = {}
    for signal, text in _split_map(min_reclaim, "=", "--eviction-minimum-reclaim").items():
        _check_signal(signal)
        reclaims[signal] = _min_reclaim(signal, text)
    out: list[Threshold] = []
    for text, is_soft in ((hard, False), (soft, True)):
        flag = "--eviction-soft" if is_soft else "--eviction-hard"
        # A map flag, as upstream's: a signal named twice keeps its last value.
        for signal, value in _split_map(text, "<", flag).items():
            _check_signal(signal)
            parsed = _threshold_value(signal, value)
            if parsed is None:
                continue
            absolute, percent = parsed
            grace = 0.0
            if is_soft:
                if signal not in graces:
                    raise ValueError(f"grace period must be specified for the soft eviction threshold {signal}")
                grace = graces[signal] or 1e-9  # a zero soft grace period still counts as soft
            reclaim, reclaim_percent = reclaims.get(signal, (None, None))
            out.append(Threshold(signal, absolute, percent, grace, reclaim, reclaim_percent))
    return tuple(out)


def _check_signal(signal: str) -> None:
    if signal not in SIGNALS:
        raise ValueError(f"unsupported eviction signal {signal}")


def conditions_of(thresholds: Mapping[str, object] | tuple[Threshold, ...]) -> list[str]:
    """The node conditions met thresholds drive, in upstream's order, without repeats."""
    signals = {t.signal for t in thresholds} if isinstance(thresholds, tuple) else set(thresholds)
    out: list[str] = []
    for signal in SIGNALS:
        if signal in signals and CONDITION[signal] not in out:
            out.append(CONDITION[signal])
    return out


# Upstream's eviction priority among met thresholds (``byEvictionPriority``): memory first, the others as configured.
PRIORITY = {MEMORY_AVAILABLE: 0, NODEFS_AVAILABLE: 1, NODEFS_INODES_FREE: 1, IMAGEFS_AVAILABLE: 1,
            IMAGEFS_INODES_FREE: 1, PID_AVAILABLE: 1}


@dataclass
class Observation:
    available: int
    capacity: int


Observations = dict[str, Observation]


@dataclass
class Tracker:
    """What stays between monitoring rounds (upstream's manager fields)."""

    met: list[Threshold] = field(default_factory=list)
    first_observed: dict[Threshold, float] = field(default_factory=dict)
    condition_seen: dict[str, float] = field(default_factory=dict)


def met(thresholds: tuple[Threshold, ...] | list[Threshold], observations: Observations,
        enforce_min_reclaim: bool) -> list[Threshold]:
    """The thresholds whose signal is below them (plus the minimum reclaim, for thresholds already met)."""
    out = []
    for t in thresholds:
        seen = observations.get(t.signal)
        if seen is None:
            continue
        wanted = t.amount(seen.capacity) + (t.reclaim(seen.capacity) if enforce_min_reclaim else 0)
        if seen.available < wanted:
            out.append(t)
    return out
