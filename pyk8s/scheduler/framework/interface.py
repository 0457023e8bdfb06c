"""Extension points, status values and per-cycle state of the scheduling framework.

Plugins implement only the extension points they need, each a small
Protocol mirroring upstream's: PreFilter, Filter, PostFilter, PreScore,
Score (with an optional ``normalize_scores``), Reserve (+Unreserve), Permit,
PreBind, Bind and PostBind.  Failure is normal while scheduling, so every
hook returns a ``Status`` value instead of raising; ``None`` means success
(cheap on the hot path, as upstream's nil status).

``CycleState`` carries data a plugin computes once per pod (in PreFilter or
PreScore) to the per-node calls of the same cycle.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from pyk8s.scheduler.cache import NodeInfo, Snapshot
    from pyk8s.scheduler.podinfo import PodInfo

Pod = dict[str, Any]
Node = dict[str, Any]

MAX_NODE_SCORE = 100
MIN_NODE_SCORE = 0


class Code(enum.IntEnum):
    SUCCESS = 0
    ERROR = 1
    UNSCHEDULABLE = 2
    UNSCHEDULABLE_AND_UNRESOLVABLE = 3
    WAIT = 4
    SKIP = 5


@dataclass(slots=True)
class Status:
    """A plugin's verdict: a code, human reasons (shown in events) and who said it."""

    code: Code = Code.SUCCESS
    reasons: list[str] = field(default_factory=list)
    plugin: str = ""

    @classmethod
    def unschedulable(cls, *reasons: str, unresolvable: bool = False) -> Status:
        code = Code.UNSCHEDULABLE_AND_UNRESOLVABLE if unresolvable else Code.UNSCHEDULABLE
        return cls(code, list(reasons))

    @classmethod
    def error(cls, message: str) -> Status:
        return cls(Code.ERROR, [message])

    @classmethod
    def skip(cls) -> Status:
        return cls(Code.SKIP)

    def is_success(self) -> bool:
        return self.code == Code.SUCCESS

    def is_rejected(self) -> bool:
        return self.code in (Code.UNSCHEDULABLE, Code.UNSCHEDULABLE_AND_UNRESOLVABLE)

    def message(self) -> str:
        return ", ".join(self.reasons)

    def with_plugin(self, name: str) -> Status:
        self.plugin = name
        return self


def is_success(status: Status | None) -> bool:
    return status is None or status.code == Code.SUCCESS


class CycleState:
    """Per-pod scratch space shared by the plugins of one scheduling cycle."""

    __slots__ = ("_data", "skip_filter", "skip_score", "restricted_by", "pod_info", "snapshot")

    def __init__(self, pod_info: PodInfo | None = None, snapshot: Snapshot | None = None) -> None:
        self._data: dict[str, Any] = {}
        self.skip_filter: set[str] = set()
        self.skip_score: set[str] = set()
        # PreFilter plugins that narrowed the candidate nodes (named in the failure message).
        self.restricted_by: list[str] = []
        # The digested incoming pod and the cycle's node snapshot, set by the cycle.
        self.pod_info = pod_info
        self.snapshot = snapshot

    def write(self, key: str, value: Any) -> None:
        self._data[key] = value

    def read(self, key: str) -> Any:
        """The value a plugin stored; KeyError when its PreFilter did not run."""
        return self._data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def clone(self) -> CycleState:
        """A copy the preemption dry run may change (values with a ``clone()`` are cloned too)."""
        out = CycleState(self.pod_info, self.snapshot)
        out._data = {k: v.clone() if hasattr(v, "clone") else v for k, v in self._data.items()}
        out.skip_filter = set(self.skip_filter)
        out.skip_score = set(self.skip_score)
        out.restricted_by = list(self.restricted_by)
        return out


@dataclass(frozen=True, slots=True)
class PreFilterResult:
    """Restricts the nodes the Filter phase looks at (None = all nodes)."""

    node_names: frozenset[str] | None = None


@dataclass(slots=True)
class PostFilterResult:
    """What a PostFilter decided besides its status (upstream's NominatingInfo, plus our async tail).

    ``nominated_node_name``: None leaves the pod's nomination alone, "" clears
    it, a name nominates the pod there.  ``prepare`` is the API work to do
    before the nomination is written (evicting the victims); the scheduling
    cycle cannot await, so the scheduler runs it right after the cycle.
    """

    nominated_node_name: str | None = None
    prepare: Callable[[], Awaitable[None]] | None = None


class EventResource(enum.StrEnum):
    POD = "Pod"
    ASSIGNED_POD = "AssignedPod"
    NODE = "Node"
    PERSISTENT_VOLUME = "PersistentVolume"
    PERSISTENT_VOLUME_CLAIM = "PersistentVolumeClaim"
    STORAGE_CLASS = "StorageClass"
    WILDCARD = "*"


class ActionType(enum.IntFlag):
    ADD = enum.auto()
    DELETE = enum.auto()
    UPDATE_NODE_ALLOCATABLE = enum.auto()
    UPDATE_NODE_LABEL = enum.auto()
    UPDATE_NODE_TAINT = enum.auto()
    UPDATE_NODE_CONDITION = enum.auto()
    UPDATE_NODE_ANNOTATION = enum.auto()
    UPDATE_POD_LABEL = enum.auto()
    UPDATE_POD_SCALE_DOWN = enum.auto()
    UPDATE_POD_TOLERATION = enum.auto()
    UPDATE_OTHER = enum.auto()

    @classmethod
    def update(cls) -> ActionType:
        return (
            cls.UPDATE_NODE_ALLOCATABLE
            | cls.UPDATE_NODE_LABEL
            | cls.UPDATE_NODE_TAINT
            | cls.UPDATE_NODE_CONDITION
            | cls.UPDATE_NODE_ANNOTATION
            | cls.UPDATE_POD_LABEL
            | cls.UPDATE_POD_SCALE_DOWN
            | cls.UPDATE_POD_TOLERATION
            | cls.UPDATE_OTHER
        )

    @classmethod
    def all(cls) -> ActionType:
        return cls.ADD | cls.DELETE | cls.update()


@dataclass(frozen=True, slots=True)
class ClusterEvent:
    """A change in the cluster that may make unschedulable pods schedulable."""

    resource: EventResource
    action: ActionType
    label: str = ""

    def matches(self, incoming: ClusterEvent) -> bool:
        """Does ``incoming`` fall under this registered event?"""
        if self.resource == EventResource.WILDCARD:
            return True
        same = self.resource == incoming.resource or (
            self.resource == EventResource.POD and incoming.resource == EventResource.ASSIGNED_POD
        )
        return same and bool(self.action & incoming.action)


WILDCARD_EVENT = ClusterEvent(EventResource.WILDCARD, ActionType.all(), "UnschedulableTimeout")


class Plugin(Protocol):
    name: str


@runtime_checkable
class PreFilterPlugin(Protocol):
    name: str

    def pre_filter(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> tuple[PreFilterResult | None, Status | None]:
        """Compute per-pod state; SKIP disables this plugin's Filter for the cycle."""
        ...


@runtime_checkable
class FilterPlugin(Protocol):
    name: str

    def filter(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status | None: ...


@runtime_checkable
class PostFilterPlugin(Protocol):
    name: str

    def post_filter(
        self, state: CycleState, pod: Pod, statuses: Mapping[str, Status]
    ) -> tuple[PostFilterResult | None, Status | None]: ...


@runtime_checkable
class PreFilterExtensions(Protocol):
    """Keeps a PreFilter's per-cycle state right when the preemption dry run adds or removes pods."""

    name: str

    def pre_filter_add_pod(self, state: CycleState, pod: Pod, added: PodInfo, node_info: NodeInfo) -> Status | None: ...

    def pre_filter_remove_pod(self, state: CycleState, pod: Pod, removed: PodInfo, node_info: NodeInfo) -> Status | None: ...


@runtime_checkable
class PreScorePlugin(Protocol):
    name: str

    def pre_score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status | None:
        """SKIP disables this plugin's Score for the cycle."""
        ...


@runtime_checkable
class ScorePlugin(Protocol):
    name: str

    def score(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> int: ...


@runtime_checkable
class NormalizeScorePlugin(Protocol):
    name: str

    def normalize_scores(self, state: CycleState, pod: Pod, scores: dict[str, int]) -> None:
        """Rescale ``scores`` (node name -> raw score) in place to 0..MAX_NODE_SCORE."""
        ...


@runtime_checkable
class ReservePlugin(Protocol):
    name: str

    def reserve(self, state: CycleState, pod: Pod, node_name: str) -> Status | None: ...

    def unreserve(self, state: CycleState, pod: Pod, node_name: str) -> None: ...


@runtime_checkable
class PermitPlugin(Protocol):
    name: str

    def permit(self, state: CycleState, pod: Pod, node_name: str) -> Status | None: ...


@runtime_checkable
class PreBindPlugin(Protocol):
    name: str

    async def pre_bind(self, state: CycleState, pod: Pod, node_name: str) -> Status | None: ...


@runtime_checkable
class BindPlugin(Protocol):
    name: str

    async def bind(self, state: CycleState, pod: Pod, node_name: str) -> Status | None:
        """SKIP passes the pod to the next bind plugin."""
        ...


@runtime_checkable
class PostBindPlugin(Protocol):
    name: str

    def post_bind(self, state: CycleState, pod: Pod, node_name: str) -> None: ...


@runtime_checkable
class EnqueueExtensions(Protocol):
    name: str

    def events_to_register(self) -> list[ClusterEvent]:
        """Cluster events that may make a pod this plugin rejected schedulable."""
        ...


class Evictor(Protocol):
    """The API calls of preemption (the real scheduler's are in ``scheduler.py``)."""

    async def preempt(self, preemptor: Pod, victim: Pod, node_name: str) -> None:
        """Mark ``victim`` DisruptionTarget, delete it and record the ``Preempted`` event."""
        ...

    async def clear_nominated_node_name(self, pod: Pod) -> None: ...


class Binder(Protocol):
    """Writes the binding (``pods/binding`` in the real scheduler)."""

    async def bind(self, pod: Pod, node_name: str) -> None: ...
