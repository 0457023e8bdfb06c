"""The kubelet's glibc calls (pyk8s.kubelet.memory) reach the allocator on this (glibc) platform."""

from __future__ import annotations

import platform

import pytest

from pyk8s.kubelet import memory

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt and malloc_trim are glibc's")


@glibc
def test_limit_arenas_is_accepted() -> None:
    assert memory.limit_arenas(8) is True  # glibc's own default for this test process's cores


@glibc
def test_trim_hands_freed_memory_back() -> None:
    blocks = [bytearray(64 * 1024) for _ in range(200)]  # below the mmap threshold: on the heap
    del blocks
    assert isinstance(memory.trim(), bool)
