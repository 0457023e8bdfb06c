import pytest

from pyk8s.machinery.errors import StatusError
from pyk8s.machinery.nesting import MAX_DEPTH, check_depth, too_deep


def nest(depth: int, bracket: str = "{"):
    value: object = 1
    for _ in range(depth):
        value = {"a": value} if bracket == "{" else [value]
    return value


def test_depth_counts_objects_and_arrays():
    assert too_deep(nest(MAX_DEPTH)) is None
    assert too_deep(nest(MAX_DEPTH + 1)) == "{"
    assert too_deep(nest(MAX_DEPTH + 1, "[")) == "["
    assert too_deep({"a": [1, {"b": "x" * 10}]}, limit=3) is None
    assert too_deep({"a": [1, {"b": {}}]}, limit=3) == "{"


def test_very_deep_values_are_measured_without_recursion():
    assert too_deep(nest(100_000, "[")) == "["  # json.loads or a recursive walk would raise RecursionError


def test_check_depth_words_the_400_as_go():
    with pytest.raises(StatusError) as err:
        check_depth(nest(MAX_DEPTH + 5))
    assert (err.value.code, err.value.message) == (
        400, "error decoding request body: invalid character '{' exceeded max depth")
