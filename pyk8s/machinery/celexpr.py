"""CEL expressions (the Common Expression Language) through cel-python (``celpy``).

``compile_problem(expr)`` says why an expression does not compile ("" when it does), as validation
reports it; ``Program(expr)`` compiles once and ``evaluate(variables)`` runs it over JSON-like values.
Compiled programs are cached by text: admission evaluates the same few expressions on every request.
celpy (with lark, pendulum and re2, ~16 MB) is imported on first use: every process that imports
``pyk8s.api`` reaches this module, and most (a kubelet, a proxy) never evaluate CEL.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import celpy


class CELError(Exception):
    """An expression that failed to compile or to evaluate."""


@lru_cache(maxsize=1)
def _env() -> celpy.Environment:
    import celpy

    return celpy.Environment()


def compile_problem(expr: str) -> str:
    try:
        _compiled(expr)
    except CELError as exc:
        return str(exc)
    return ""


@lru_cache(maxsize=512)
def _compiled(expr: str) -> Any:
    try:
        env = _env()
        return env.program(env.compile(expr))
    except Exception as exc:  # noqa: BLE001 - celpy raises several parse error types
        text = " ".join(str(exc).split())
        raise CELError(f"ERROR: <input>: Syntax error: {text}") from None


def evaluate(expr: str, variables: dict[str, Any]) -> Any:
    """The expression's value over ``variables`` (JSON-like), as a plain Python value."""
    import celpy

    prog = _compiled(expr)
    activation = {k: celpy.json_to_cel(v) for k, v in variables.items()}
    try:
        value = prog.evaluate(activation)
    except Exception as exc:  # noqa: BLE001 - CELEvalError and friends
        raise CELError(str(exc.args[0]) if exc.args else str(exc)) from None
    if isinstance(value, Exception):
        raise CELError(str(value))
    if isinstance(value, celpy.celtypes.BoolType):
        return bool(value)
    return value


__all__ = ["CELError", "compile_problem", "evaluate"]
