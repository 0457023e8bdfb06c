"""Prefix ranges over string keys."""

from __future__ import annotations

from pyk8s.storage import keyrange


def test_prefix_end() -> None:
    assert keyrange.prefix_end("/a/") == "/a0"
    assert keyrange.prefix_end("") is None
    assert keyrange.prefix_end("a\U0010ffff") == "b"
    assert keyrange.range_start("/a/", "/a/x") == "/a/x\x00"
    assert keyrange.range_start("/a/", "") == "/a/"
