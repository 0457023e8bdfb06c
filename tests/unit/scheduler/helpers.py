"""Run one plugin or a whole scheduler over in-memory nodes and pods."""

from __future__ import annotations

import random
from typing import Any

from pyk8s.scheduler.cache import Cache, Snapshot
from pyk8s.scheduler.framework import interface as fw
from pyk8s.scheduler.framework.runtime import Framework
from pyk8s.scheduler.plugins import default_plugins
from pyk8s.scheduler.podinfo import PodInfo
from pyk8s.scheduler.schedule_one import Scheduler

from .builders import RecordingBinder


def cache_with(nodes: list[dict[str, Any]], existing: list[dict[str, Any]] = ()) -> Cache:  # type: ignore[assignment]
    cache = Cache()
    for n in nodes:
        cache.add_node(n)
    for p in existing:
        cache.add_pod(p)
    return cache


def state_for(pod: dict[str, Any], cache: Cache) -> fw.CycleState:
    snap = cache.update_snapshot(Snapshot())
    return fw.CycleState(PodInfo.of(pod), snap)


def filter_all(plugin: Any, pod: dict[str, Any], nodes: list[dict[str, Any]], existing: list[dict[str, Any]] = ()) -> dict[str, str | None]:  # type: ignore[assignment]
    """node name -> first reason (None = fits), running PreFilter first like the framework."""
    cache = cache_with(nodes, existing)
    state = state_for(pod, cache)
    infos = state.snapshot.node_infos  # type: ignore[union-attr]
    if hasattr(plugin, "pre_filter"):
        _, status = plugin.pre_filter(state, pod, infos)
        if status is not None and status.code == fw.Code.SKIP:
            return {n.name: None for n in infos}
        if status is not None and not status.is_success():
            return {n.name: status.message() for n in infos}
    out: dict[str, str | None] = {}
    for n in infos:
        s = plugin.filter(state, pod, n)
        out[n.name] = None if s is None or s.is_success() else s.message()
    return out


def scores(plugin: Any, pod: dict[str, Any], nodes: list[dict[str, Any]], existing: list[dict[str, Any]] = ()) -> dict[str, int]:  # type: ignore[assignment]
    cache = cache_with(nodes, existing)
    state = state_for(pod, cache)
    infos = state.snapshot.node_infos  # type: ignore[union-attr]
    if hasattr(plugin, "pre_score"):
        status = plugin.pre_score(state, pod, infos)
        if status is not None and status.code == fw.Code.SKIP:
            return {}
    out = {n.name: plugin.score(state, pod, n) for n in infos}
    if hasattr(plugin, "normalize_scores"):
        plugin.normalize_scores(state, pod, out)
    return out


def scheduler(nodes: list[dict[str, Any]], existing: list[dict[str, Any]] = (), binder: Any = None, **kw: Any) -> Scheduler:  # type: ignore[assignment]
    fwk = Framework(default_plugins(binder or RecordingBinder(), **kw))
    return Scheduler(fwk, cache_with(nodes, existing), rng=random.Random(7))
