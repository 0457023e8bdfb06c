"""Resource quantities (``100m``, ``1.5Gi``, ``2e3``), exact and canonical.

A quantity is kept as an exact ``Fraction`` plus the notation it was written
in, which decides how it is printed back:

* binary SI (``Ki`` … ``Ei``): printed with the largest binary suffix that
  keeps the number whole (``2048Ki`` -> ``2Mi``); values below 1024 or not
  whole fall back to decimal SI, as Kubernetes does;
* decimal SI (``n u m "" k M G T P E``) and decimal exponent (``e3``):
  printed with the largest power-of-1000 exponent that keeps the number whole
  (``1000m`` -> ``1``, ``0.1`` -> ``100m``, ``1500`` -> ``1500``).

Precision finer than 10^-9 is rounded up, like upstream.  Parse errors carry
Kubernetes' texts so validation messages match.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from fractions import Fraction

BINARY_SI = "BinarySI"
DECIMAL_SI = "DecimalSI"
DECIMAL_EXPONENT = "DecimalExponent"

ERR_FORMAT = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
ERR_SUFFIX = "unable to parse quantity's suffix"
ERR_NUMERIC = "unable to parse numeric part of quantity"

_SHAPE = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_BY_EXP = {v: k for k, v in _DECIMAL.items()}
_BINARY_BY_EXP = {v: k for k, v in _BINARY.items()}
_NANO = Fraction(1, 10**9)


class QuantityError(ValueError):
    """An unparsable quantity; ``str()`` is Kubernetes' message."""


@functools.total_ordering
@dataclass(frozen=True, slots=True)
class Quantity:
    value: Fraction
    format: str = DECIMAL_SI

    def canonical(self) -> str:
        return _format(self.value, self.format)

    def __str__(self) -> str:
        return self.canonical()

    def milli_value(self) -> int:
        """The value in thousandths, rounded up (``MilliValue``)."""
        return math.ceil(self.value * 1000)

    def int_value(self) -> int:
        """The value rounded up to a whole number (``Value``)."""
        return math.ceil(self.value)

    def as_float(self) -> float:
        return float(self.value)

    def is_zero(self) -> bool:
        return self.value == 0

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Quantity):
            return self.value == other.value
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.value)

    def __lt__(self, other: Quantity) -> bool:
        return self.value < other.value

    def __add__(self, other: Quantity) -> Quantity:
        return Quantity(self.value + other.value, self.format)

    def __sub__(self, other: Quantity) -> Quantity:
        return Quantity(self.value - other.value, self.format)

    def __neg__(self) -> Quantity:
        return Quantity(-self.value, self.format)


def parse(text: str | int | float) -> Quantity:
    """Parse a quantity string (numbers are accepted, as in JSON); raises QuantityError."""
    if isinstance(text, bool):
        raise QuantityError(ERR_FORMAT)
    if isinstance(text, int):
        return Quantity(Fraction(text), DECIMAL_SI)
    if isinstance(text, float):
        return Quantity(_round_nano(Fraction(str(text))), DECIMAL_SI)
    return _parse_text(text)


# Quantities are immutable and a cluster spells few distinct ones ("100m", "64Mi"), while every pod
# create parses each of them several times (defaulting, validation, QoS, LimitRange, quota): parsing
# through Fraction costs ~10 us, a cache hit ~0.1 us.  Unparsable texts raise and are not cached.
@functools.lru_cache(maxsize=4096)
def _parse_text(text: str) -> Quantity:
    if not text:
        raise QuantityError(ERR_FORMAT)
    m = _SHAPE.match(text)
    if m is None:
        raise QuantityError(ERR_FORMAT)
    number, suffix = m.group(1), m.group(2)
    value = _parse_number(number)
    if suffix in _BINARY:
        return Quantity(_round_nano(value * (2 ** _BINARY[suffix])), BINARY_SI)
    if suffix in _DECIMAL:
        return Quantity(_round_nano(value * Fraction(10) ** _DECIMAL[suffix]), DECIMAL_SI)
    exp = re.fullmatch(r"[eE]([-+]?[0-9]+)", suffix)
    if exp is None:
        raise QuantityError(ERR_SUFFIX)
    return Quantity(_round_nano(value * Fraction(10) ** int(exp.group(1))), DECIMAL_EXPONENT)


def _parse_number(number: str) -> Fraction:
    sign = -1 if number.startswith("-") else 1
    digits = number.lstrip("+-")
    if digits.count(".") > 1 or digits in ("", ".") or not re.fullmatch(r"[0-9.]+", digits):
        raise QuantityError(ERR_NUMERIC)
    return sign * Fraction(digits)


def _round_nano(value: Fraction) -> Fraction:
    """Precision beyond nano units is rounded up (away from zero), as upstream."""
    scaled = value / _NANO
    if scaled.denominator == 1:
        return value
    rounded = math.ceil(scaled) if value > 0 else math.floor(scaled)
    return rounded * _NANO


@functools.lru_cache(maxsize=4096)
def _format(value: Fraction, fmt: str) -> str:
    if value == 0:
        return "0"
    if fmt == BINARY_SI and abs(value) >= 1024 and value.denominator == 1:
        return _format_binary(int(value))
    mantissa, exp = _decimal_parts(value)
    if fmt == DECIMAL_EXPONENT:
        return f"{mantissa}e{exp}" if exp else str(mantissa)
    if exp in _DECIMAL_BY_EXP:
        return f"{mantissa}{_DECIMAL_BY_EXP[exp]}"
    # Beyond exa: show the mantissa scaled to E (no larger SI suffix exists).
    return f"{mantissa * 10 ** (exp - 18)}E"


def _decimal_parts(value: Fraction) -> tuple[int, int]:
    """Integer mantissa and the largest multiple-of-3 exponent (>= -9) keeping it whole."""
    exp = -9
    mantissa = value * 10**9
    # value is a whole number of nano units after rounding
    m = int(mantissa)
    while m % 1000 == 0 and m != 0:
        m //= 1000
        exp += 3
    return m, exp


def _format_binary(value: int) -> str:
    exp = 0
    while exp < 60 and value % 1024 == 0:
        value //= 1024
        exp += 10
    return f"{value}{_BINARY_BY_EXP.get(exp, '')}"


def canonicalize(text: str | int | float) -> str:
    """The canonical spelling of a quantity (what the API server stores and returns)."""
    return parse(text).canonical()


def try_parse(text: object) -> Quantity | None:
    if not isinstance(text, (str, int, float)):
        return None
    try:
        return parse(text)
    except QuantityError:
        return None


def compare(a: str | int | float, b: str | int | float) -> int:
    """-1, 0 or 1 as ``a`` is less than, equal to or greater than ``b``."""
    qa, qb = parse(a).value, parse(b).value
    return (qa > qb) - (qa < qb)
