"""``$(VAR)`` expansion in env values, command and args, with upstream's rules.

Rules (upstream's forked ``expansion`` package): ``$(NAME)`` becomes NAME's
value when NAME is defined and is left as written otherwise; ``$$`` is an
escaped ``$``; a ``$(`` with no closing parenthesis and a ``$`` before any
other character stay as written.  Expansion is one pass: a value produced by
a reference is never expanded again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

Mapping_ = Callable[[str], str]


def mapping_for(*contexts: Mapping[str, str]) -> Mapping_:
    """Looks a name up in each context in turn; an undefined name stays ``$(NAME)``."""

    def lookup(name: str) -> str:
        for ctx in contexts:
            if name in ctx:
                return ctx[name]
        return f"$({name})"

    return lookup


def expand(text: str, mapping: Mapping_) -> str:
    out: list[str] = []
    checkpoint = 0
    cursor = 0
    while cursor < len(text):
        if text[cursor] == "$" and cursor + 1 < len(text):
            out.append(text[checkpoint:cursor])
            read, is_var, advance = _read_name(text, cursor + 1)
            out.append(mapping(read) if is_var else read)
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    return "".join(out) + text[checkpoint:]


def _read_name(text: str, start: int) -> tuple[str, bool, int]:
    """What follows a ``$``: (text or name, whether it is a reference, characters consumed)."""
    first = text[start]
    if first == "$":
        return "$", False, 1
    if first == "(":
        close = text.find(")", start + 1)
        if close == -1:
            return "$(", False, 1
        return text[start + 1:close], True, close - start + 1
    return "$" + first, False, 1


def expand_command(items: list[str], env: Mapping[str, str]) -> list[str]:
    lookup = mapping_for(env)
    return [expand(item, lookup) for item in items]
