"""resource.Quantity parsing: ``100m``, ``1Gi``, ``2e3``, ``0.5`` into exact Fractions.

Validation and QoS need only to compare quantities, so values stay Fractions
(no float rounding); the original text is kept for messages, which is what
users typed and usually what Kubernetes prints back.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

_QUANTITY = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": Fraction(1),
            "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12),
            "P": Fraction(10**15), "E": Fraction(10**18)}

PARSE_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"


def parse_quantity(value: Any) -> Fraction:
    """The exact value of a quantity; ValueError with Kubernetes' message if malformed."""
    if isinstance(value, bool):
        raise ValueError(PARSE_ERROR)
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(str(value))
    text = str(value).strip()
    m = _QUANTITY.match(text)
    if not m or m.group(1) in (".", "+.", "-."):
        raise ValueError(PARSE_ERROR)
    number, suffix = m.groups()
    try:
        base = Fraction(number)
    except ValueError as exc:
        raise ValueError(PARSE_ERROR) from exc
    if suffix in _BINARY:
        return base * _BINARY[suffix]
    if suffix in _DECIMAL:
        return base * _DECIMAL[suffix]
    if suffix[:1] in ("e", "E"):
        try:
            return base * Fraction(10) ** int(suffix[1:])
        except ValueError as exc:
            raise ValueError(PARSE_ERROR) from exc
    raise ValueError(PARSE_ERROR)


def is_quantity(value: Any) -> bool:
    try:
        parse_quantity(value)
    except ValueError:
        return False
    return True
