"""The shape every long-running piece of the single binary has.

A component is an object with ``async def run()`` that works until it is
cancelled (or fails), and a ``ready`` event it sets once it is serving.  An
assembly owns its components in one ``asyncio.TaskGroup``: a failure in one
cancels the others, and shutdown is cancellation of the group, so there is
never an orphan task.
"""

from __future__ import annotations

import asyncio
from typing import Protocol, runtime_checkable


@runtime_checkable
class Component(Protocol):
    name: str
    ready: asyncio.Event

    async def run(self) -> None: ...
