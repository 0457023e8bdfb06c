"""The authorizer contract: a decision and, when refused, a reason (upstream's ``authorizer.Authorizer``)."""

from __future__ import annotations

import enum
from typing import Protocol

from pyk8s.apiserver.authorization.attributes import Attributes


class Decision(enum.Enum):
    ALLOW = "Allow"
    DENY = "Deny"
    NO_OPINION = "NoOpinion"


class Authorizer(Protocol):
    async def authorize(self, attrs: Attributes) -> tuple[Decision, str]: ...


class AlwaysAllow:
    """``--authorization-mode=AlwaysAllow``: every request is allowed."""

    async def authorize(self, attrs: Attributes) -> tuple[Decision, str]:
        return Decision.ALLOW, ""


class AlwaysDeny:
    """``--authorization-mode=AlwaysDeny``: nothing is allowed (upstream keeps it for tests)."""

    async def authorize(self, attrs: Attributes) -> tuple[Decision, str]:
        return Decision.NO_OPINION, "Everything is forbidden."
