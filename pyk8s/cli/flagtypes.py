"""Argument types shared by several commands' flags, so each check and its wording lives once."""

from __future__ import annotations

import argparse


def non_negative_int(text: str) -> int:
    """A count, a size or a number of seconds: an integer that may be zero but not below it."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return value
