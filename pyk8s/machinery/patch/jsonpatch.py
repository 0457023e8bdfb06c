"""RFC 6902 JSON patch with RFC 6901 pointers.

Errors follow the API server: a malformed patch or an operation whose path is
missing is a 400 BadRequest carrying the json-patch library's text
(``add operation does not apply: doc is missing path: "/spec/x": missing value``);
a failed ``test`` operation is a 422 (Invalid), because the patch itself was
well-formed but the object is not in the expected state.

Two limits keep a small patch from growing into a huge object, as upstream's:
more than ``MAX_OPERATIONS`` operations is a 413, and ``copy`` operations may add
at most ``MAX_COPY_BYTES`` (the JSON size of what they copy, summed) before the
patch fails with json-patch's ``AccumulatedCopySizeError`` as a 422.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson

from pyk8s.machinery.errors import Cause, StatusError, bad_request, too_large
from pyk8s.machinery.nesting import MAX_DEPTH, too_deep

_MISSING = ": missing value"
#: upstream's maxJSONPatchOperations
MAX_OPERATIONS = 10000
#: upstream's JSONPatchMaxCopyBytes: twice etcd's 1.5 MiB request limit
MAX_COPY_BYTES = 3 * 1024 * 1024


class _PatchError(Exception):
    """A json-patch failure; ``unprocessable`` (a failed test, a limit reached) selects 422 over 400."""

    def __init__(self, message: str, unprocessable: bool = False) -> None:
        super().__init__(message)
        self.unprocessable = unprocessable


def parse_pointer(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise _PatchError(f'doc is missing path: "{pointer}"{_MISSING}')
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/")]


def _index(token: str, size: int, *, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return size
    if not token.isdigit() or (len(token) > 1 and token[0] == "0"):
        raise _PatchError(f"Unable to access invalid index: {token}: invalid index referenced")
    idx = int(token)
    if idx > size or (idx == size and not allow_end):
        raise _PatchError(f"Unable to access invalid index: {idx}: invalid index referenced")
    return idx


def _parent(doc: Any, tokens: list[str], op: str, path: str) -> Any:
    """The container that holds the pointer's last token."""
    cur = doc
    for tok in tokens[:-1]:
        if isinstance(cur, dict) and tok in cur:
            cur = cur[tok]
        elif isinstance(cur, list) and tok.isdigit() and int(tok) < len(cur):
            cur = cur[int(tok)]
        else:
            raise _PatchError(f'{op} operation does not apply: doc is missing path: "{path}"{_MISSING}')
        if not isinstance(cur, (dict, list)):
            raise _PatchError(f'{op} operation does not apply: doc is missing path: "{path}"{_MISSING}')
    return cur


def _get(doc: Any, path: str, op: str) -> Any:
    cur = doc
    for tok in parse_pointer(path):
        if isinstance(cur, dict) and tok in cur:
            cur = cur[tok]
        elif isinstance(cur, list) and tok.isdigit() and int(tok) < len(cur):
            cur = cur[int(tok)]
        else:
            raise _PatchError(f"{op} operation does not apply: doc is missing from path: {path}{_MISSING}")
    return cur


def _add(doc: Any, path: str, value: Any, op: str = "add") -> Any:
    tokens = parse_pointer(path)
    if not tokens:
        return value
    parent = _parent(doc, tokens, op, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    else:
        parent.insert(_index(last, len(parent), allow_end=True), value)
    return doc


def _remove(doc: Any, path: str, op: str = "remove") -> tuple[Any, Any]:
    tokens = parse_pointer(path)
    if not tokens:
        return None, doc
    parent = _parent(doc, tokens, op, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise _PatchError(f'{op} operation does not apply: doc is missing path: "{path}": '
                              f"Unable to remove nonexistent key: {last}{_MISSING}")
        return doc, parent.pop(last)
    return doc, parent.pop(_index(last, len(parent), allow_end=False))


def _replace(doc: Any, path: str, value: Any) -> Any:
    tokens = parse_pointer(path)
    if not tokens:
        return value
    parent = _parent(doc, tokens, "replace", path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise _PatchError(f"replace operation does not apply: doc is missing key: {path}{_MISSING}")
        parent[last] = value
    else:
        parent[_index(last, len(parent), allow_end=False)] = value
    return doc


class _CopyBudget:
    """What ``copy`` operations have added so far (json-patch's accumulatedCopySize)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def copy(self, value: Any) -> Any:
        """A fresh copy of ``value``, charged at its JSON size."""
        try:
            raw = orjson.dumps(value)  # bounded: the document itself is bounded by the limits above
        except TypeError:  # nested past orjson's 254 levels, which moves and copies can build
            raise _PatchError(f"copy operation does not apply: exceeded max depth of {MAX_DEPTH}",
                              unprocessable=True) from None
        self.used += len(raw)
        if self.used > self.limit:
            raise _PatchError(f"Unable to complete the copy, the accumulated size increase of copy is {self.used}, "
                              f"exceeding the limit {self.limit}", unprocessable=True)
        return orjson.loads(raw)


def _clone(value: Any) -> Any:
    """A deep copy; through orjson, which is many times faster than ``copy.deepcopy``."""
    try:
        return orjson.loads(orjson.dumps(value))
    except TypeError:  # not JSON (callers inside the process may pass anything)
        return copy.deepcopy(value)


def _apply_op(doc: Any, op: dict[str, Any], budget: _CopyBudget) -> Any:
    kind = op.get("op")
    path = op.get("path")
    if not isinstance(path, str):
        raise _PatchError(f"{kind} operation does not apply: doc is missing path: \"\"{_MISSING}")
    if kind in ("add", "replace", "test") and "value" not in op:
        raise _PatchError(f"{kind} operation does not apply: value is missing")  # upstream treats null as a value
    if kind == "add":
        return _add(doc, path, copy.deepcopy(op["value"]))
    if kind == "remove":
        return _remove(doc, path)[0]
    if kind == "replace":
        return _replace(doc, path, copy.deepcopy(op["value"]))
    if kind in ("move", "copy"):
        src = op.get("from")
        if not isinstance(src, str):
            raise _PatchError(f"{kind} operation does not apply: doc is missing from path: {src}{_MISSING}")
        if kind == "move":
            if path.startswith(src + "/"):
                raise _PatchError(f"move operation does not apply: cannot move {src} into its own child {path}")
            value = _get(doc, src, kind)
            doc, value = _remove(doc, src, kind)
        else:
            value = budget.copy(_get(doc, src, kind))
        return _add(doc, path, value, kind)
    if kind == "test":
        try:
            have = _get(doc, path, "test")
        except _PatchError:
            have = _Absent
        if have is _Absent or have != op["value"] or type(have) is not type(op["value"]) and not _numbers(have, op["value"]):
            raise _PatchError(f"testing value {path} failed: test failed", unprocessable=True)
        return doc
    raise _PatchError(f"Unexpected kind: {kind}")


class _Absent:
    pass


def _numbers(a: Any, b: Any) -> bool:
    return isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool)


def apply_json_patch(original: Any, patch: Any) -> Any:
    """Apply a list of operations to a copy of ``original``; raises StatusError 400/422."""
    if not isinstance(patch, list) or not all(isinstance(op, dict) for op in patch):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    if len(patch) > MAX_OPERATIONS:
        raise too_large(f"The allowed maximum operations in a JSON patch is {MAX_OPERATIONS}, got {len(patch)}")
    doc = _clone(original)
    budget = _CopyBudget(MAX_COPY_BYTES)
    try:
        for op in patch:
            doc = _apply_op(doc, op, budget)
        if too_deep(doc) is not None:  # paths and moves can nest the result past what a body may
            raise _PatchError(f"the patched object exceeded max depth of {MAX_DEPTH}", unprocessable=True)
    except _PatchError as e:
        if e.unprocessable:
            raise StatusError(422, "Invalid", "the server rejected our request due to an error in our request",
                              causes=[Cause("UnexpectedServerResponse", str(e))]) from None
        raise bad_request(str(e)) from None
    return doc
