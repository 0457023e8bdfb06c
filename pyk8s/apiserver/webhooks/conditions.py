"""matchConditions: CEL expressions over ``object``, ``oldObject`` and ``request`` that must all hold
for a webhook to be called.  A false condition skips the webhook; an expression that fails to evaluate
is a call failure, subject to the webhook's failurePolicy, as upstream's matcher fails closed.
``authorizer`` checks are not offered (an expression that uses it fails to evaluate).
"""

from __future__ import annotations

from typing import Any

from pyk8s.machinery import celexpr

Obj = dict[str, Any]


class ConditionError(Exception):
    pass


def holds(conditions: Any, variables: Obj) -> bool:
    """Whether every condition holds; ConditionError when one cannot be evaluated."""
    for cond in conditions or []:
        expr = str(cond.get("expression") or "")
        try:
            value = celexpr.evaluate(expr, variables)
        except celexpr.CELError as exc:
            raise ConditionError(f"expression '{expr}' resulted in error: {exc}") from None
        if not isinstance(value, bool):
            raise ConditionError(f"expression '{expr}' resulted in error: no such overload")
        if not value:
            return False
    return True
