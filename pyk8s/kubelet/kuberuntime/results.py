"""What a sync or kill did: per-step results with upstream's reasons, and the events to record.

Mirrors upstream's ``PodSyncResult``: one ``StepResult`` per action
(CreatePodSandbox, StartContainer, KillContainer, ...) whose ``error`` is an
upstream reason such as ``CrashLoopBackOff``, ``ErrImagePull`` or
``CreateContainerConfigError`` and whose ``message`` is the detail the status
module copies into ``state.waiting.message``.  Events are returned, not sent:
the pod worker records them against the pod (``field_path`` names the
container, as ``spec.containers{name}``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Action(enum.StrEnum):
    START_CONTAINER = "StartContainer"
    KILL_CONTAINER = "KillContainer"
    CREATE_POD_SANDBOX = "CreatePodSandbox"
    CONFIG_POD_SANDBOX = "ConfigPodSandbox"
    KILL_POD_SANDBOX = "KillPodSandbox"
    INIT_CONTAINER = "InitContainer"
    MOUNT_VOLUMES = "MountVolumes"


class Reason(enum.StrEnum):
    """Upstream's ``kubecontainer`` and ``images`` error values, as the API shows them."""

    CRASH_LOOP_BACK_OFF = "CrashLoopBackOff"
    RUN_CONTAINER = "RunContainerError"
    KILL_CONTAINER = "KillContainerError"
    CREATE_POD_SANDBOX = "CreatePodSandboxError"
    CONFIG_POD_SANDBOX = "ConfigPodSandboxError"
    KILL_POD_SANDBOX = "KillPodSandboxError"
    CREATE_CONTAINER_CONFIG = "CreateContainerConfigError"
    CREATE_CONTAINER = "CreateContainerError"
    POST_START_HOOK = "PostStartHookError"
    IMAGE_PULL_BACK_OFF = "ImagePullBackOff"
    IMAGE_INSPECT = "ImageInspectError"
    IMAGE_PULL = "ErrImagePull"
    IMAGE_NEVER_PULL = "ErrImageNeverPull"
    INVALID_IMAGE_NAME = "InvalidImageName"
    FAILED_MOUNT = "FailedMount"


class StepError(Exception):
    """A step failed: ``reason`` is a ``Reason`` value, ``message`` the detail."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}" if message else reason)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Event:
    type: str  # Normal | Warning
    reason: str
    message: str
    field_path: str = ""  # spec.containers{name}; "" for the pod itself


def normal(reason: str, message: str, field_path: str = "") -> Event:
    return Event("Normal", reason, message, field_path)


def warning(reason: str, message: str, field_path: str = "") -> Event:
    return Event("Warning", reason, message, field_path)


@dataclass
class StepResult:
    action: Action
    target: str  # container name, or the pod's full name for sandbox steps
    error: str = ""
    message: str = ""

    def fail(self, reason: str, message: str) -> None:
        self.error, self.message = reason, message

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass
class SyncResult:
    steps: list[StepResult] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    sync_error: str = ""  # an error outside any step (e.g. the pod's status could not be read)

    def add(self, action: Action, target: str) -> StepResult:
        step = StepResult(action, target)
        self.steps.append(step)
        return step

    def merge(self, other: SyncResult) -> None:
        self.steps.extend(other.steps)
        self.events.extend(other.events)
        self.sync_error = self.sync_error or other.sync_error

    @property
    def errors(self) -> list[StepResult]:
        return [s for s in self.steps if not s.ok]

    @property
    def ok(self) -> bool:
        return not self.sync_error and not self.errors

    def error_for(self, container: str) -> StepResult | None:
        """The failed StartContainer/InitContainer step of ``container`` (drives waiting.reason)."""
        return next((s for s in self.steps if s.target == container and not s.ok
                     and s.action in (Action.START_CONTAINER, Action.INIT_CONTAINER)), None)
