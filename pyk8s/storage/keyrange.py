"""Prefix ranges over string keys.

Keys compare by code point, which is also the byte order of their UTF-8
encoding, so the same half-open range ``[prefix, prefix_end(prefix))`` works
in Python, in SQLite (BINARY collation) and, encoded, in etcd.
"""

from __future__ import annotations


def prefix_end(prefix: str) -> str | None:
    """The smallest key greater than every key starting with ``prefix``;
    None when there is no upper bound (empty prefix)."""
    while prefix:
        last = ord(prefix[-1])
        if last < 0x10FFFF:
            return prefix[:-1] + chr(last + 1)
        prefix = prefix[:-1]
    return None


def range_start(prefix: str, start_after: str) -> str:
    """The first key to consider (inclusive) when paging after ``start_after``."""
    if start_after and start_after >= prefix:
        return start_after + "\x00"
    return prefix
