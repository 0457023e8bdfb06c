"""The shared argument types: one wording for every command's count flags."""

from __future__ import annotations

import argparse

import pytest

from pyk8s.cli.flagtypes import non_negative_int


def test_non_negative_int_accepts_zero_and_up() -> None:
    assert non_negative_int("0") == 0
    assert non_negative_int("400") == 400


@pytest.mark.parametrize(("text", "message"), [("ten", "not an integer: 'ten'"), ("-1", "must not be negative: '-1'")])
def test_non_negative_int_refuses_with_the_value_quoted(text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        non_negative_int(text)
