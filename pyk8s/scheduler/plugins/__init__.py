"""In-tree plugins, one module each, and the default profile's plugin list."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pyk8s.scheduler.framework import interface as fw
from pyk8s.scheduler.plugins import (
    balancedallocation,
    defaultbinder,
    defaultpreemption,
    imagelocality,
    interpodaffinity,
    nodeaffinity,
    nodename,
    nodeports,
    noderesourcesfit,
    nodeunschedulable,
    podtopologyspread,
    tainttoleration,
    volumebinding,
)


def default_plugins(
    binder: fw.Binder,
    *,
    volume_lister: volumebinding.VolumeLister | None = None,
    volume_binder: volumebinding.VolumeBinder | None = None,
    namespace_labels: Callable[[str], Mapping[str, str] | None] | None = None,
    scoring_strategy: str = noderesourcesfit.LEAST_ALLOCATED,
    evictor: fw.Evictor | None = None,
    pdb_lister: Callable[[], list[Any]] | None = None,
) -> list[Any]:
    """The default profile, in upstream's order (filters run cheapest first)."""
    plugins: list[Any] = [
        nodeunschedulable.NodeUnschedulable(),
        nodename.NodeName(),
        tainttoleration.TaintToleration(),
        nodeaffinity.NodeAffinity(),
        nodeports.NodePorts(),
        noderesourcesfit.NodeResourcesFit(scoring_strategy),
    ]
    if volume_lister is not None:
        plugins.append(volumebinding.VolumeBinding(volume_lister, volume_binder))
    plugins += [
        podtopologyspread.PodTopologySpread(),
        interpodaffinity.InterPodAffinity(namespace_labels),
        defaultpreemption.DefaultPreemption(evictor, pdb_lister=pdb_lister),
        balancedallocation.BalancedAllocation(),
        imagelocality.ImageLocality(),
        defaultbinder.DefaultBinder(binder),
    ]
    return plugins
