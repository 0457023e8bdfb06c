"""Hypothesis strategies from the server's OpenAPI v3 component schemas.

``SchemaStrategies.valid(ref)`` draws values that satisfy a component schema
(types, formats, required properties); optional properties are drawn sparsely
so objects stay small and often pass the server's own validation.  Strings
come mostly from a pool of Kubernetes-looking words (names, ports, quantities,
enum-like values) so that validation is passed often enough to reach the code
behind it.  ``nasty()`` draws the values that break decoders: wrong types,
out-of-range integers, odd strings, deep nesting.  ``mutate()`` puts one of
them (or a deletion) at a random place in a value.
"""

from __future__ import annotations

import functools
from typing import Any

from hypothesis import strategies as st

REF_PREFIX = "#/components/schemas/"

#: strings that look like what Kubernetes fields hold, so validation passes often.
WORDS = (
    "a", "fz-a", "fz-b", "x1", "nginx", "busybox:1.36", "80", "8080", "TCP", "UDP", "http", "Always",
    "IfNotPresent", "Never", "OnFailure", "ClusterIP", "NodePort", "None", "100m", "1", "64Mi", "1Gi",
    "ReadWriteOnce", "Filesystem", "True", "False", "Unknown", "Ready", "app", "fz", "default",
    "kube-system", "v1", "apps/v1", "RollingUpdate", "25%", "*/5 * * * *", "Allow", "Forbid",
    "Parallel", "OrderedReady", "Orphan", "Background", "Foreground", "All", "Exists", "In", "NoSchedule",
    "Equal", "Retain", "Delete", "2024-01-01T00:00:00Z", "10.0.0.1", "/tmp", "example.com/x", "",
)
#: strings that break parsers, printers and validators.
ODD_STRINGS = (
    "", " ", "-", "..", "A_B", "a" * 64, "a" * 254, "x" * 5000, "é漢字", "\u0000", "a\r\nb", "a\nb",
    "${HOME}", "%00", "../../etc", "-1", "1e400", "0x10", "NaN", "null", "true", "[]", "{}", "=",
    "a=b,c!=d", "a in (b", "!", "\u202e", "\ud800", "999999999999999999999",
)
INT_EDGES = (0, -1, 1, 2**31 - 1, 2**31, -(2**31) - 1, 2**53 + 1, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30)


def deref(ref: str) -> str:
    return ref[len(REF_PREFIX):] if ref.startswith(REF_PREFIX) else ref


@functools.cache
def json_values(max_leaves: int = 8) -> st.SearchStrategy[Any]:
    """Any JSON value."""
    scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(
        max_size=20)
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
        max_leaves=max_leaves,
    )


def deep(depth: int, leaf: Any = 1) -> Any:
    """A value nested ``depth`` levels deep (alternating objects and lists)."""
    value: Any = leaf
    for i in range(depth):
        value = {"a": value} if i % 2 else [value]
    return value


@functools.cache
def nasty() -> st.SearchStrategy[Any]:
    """One value that decoders, type checks and range checks must refuse cleanly."""
    return st.one_of(
        st.sampled_from(INT_EDGES),
        st.sampled_from(ODD_STRINGS),
        st.sampled_from([None, True, False, 1.5, -0.0, 1e308, [], {}, [None], {"": None}, [[[]]]]),
        st.sampled_from([10, 100, 1000, 3000]).map(deep),
        json_values(),
    )


class SchemaStrategies:
    """Strategies for the component schemas of one OpenAPI v3 document."""

    def __init__(self, components: dict[str, Any]) -> None:
        self.components = components
        self._refs: dict[str, st.SearchStrategy[Any]] = {}
        self._built: dict[tuple[int, int], st.SearchStrategy[Any]] = {}

    def schema(self, ref: str) -> dict[str, Any]:
        return self.components[deref(ref)]

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Follow ``$ref`` and single-element ``allOf`` wrappers to the schema itself."""
        while True:
            if "$ref" in schema:
                schema = self.schema(schema["$ref"])
            elif len(schema.get("allOf", ())) == 1 and "type" not in schema:
                schema = schema["allOf"][0]
            else:
                return schema

    def valid(self, ref: str) -> st.SearchStrategy[Any]:
        name = deref(ref)
        if name not in self._refs:
            # Deferred, so recursive schemas (and repeated ones) build once.
            self._refs[name] = st.deferred(lambda: self._for(self.components[name], 0))
        return self._refs[name]

    def for_schema(self, schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
        return self._for(schema, depth)

    def _for(self, schema: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
        # Built once per (schema, depth): building and validating strategies costs more than drawing.
        key = (id(schema), depth)
        if key not in self._built:
            self._built[key] = self._build(schema, depth)
        return self._built[key]

    def _build(self, schema: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
        if "$ref" in schema:
            return self.valid(schema["$ref"])
        if len(schema.get("allOf", ())) == 1 and "type" not in schema:
            return self._for(schema["allOf"][0], depth)
        if "oneOf" in schema:
            return st.one_of([self._for(s, depth) for s in schema["oneOf"]])
        if schema.get("x-kubernetes-preserve-unknown-fields") and "properties" not in schema:
            return json_values(4)
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            return self._object(schema, depth)
        if kind == "array":
            size = 2 if depth < 6 else 0
            return st.lists(self._for(schema.get("items", {}), depth + 1), max_size=size)
        if kind == "integer":
            if schema.get("format") == "int32":
                return st.one_of(st.integers(0, 10), st.integers(-(2**31), 2**31 - 1))
            return st.one_of(st.integers(0, 10), st.integers(-(2**63), 2**63 - 1))
        if kind == "number":
            return st.floats(allow_nan=False, allow_infinity=False, width=64)
        if kind == "boolean":
            return st.booleans()
        if kind == "string":
            fmt = schema.get("format")
            if fmt == "byte":
                return st.sampled_from(["", "aGVsbG8=", "not base64!", "YQ"])
            if fmt == "date-time":
                return st.sampled_from(["2024-01-01T00:00:00Z", "2024-01-01T00:00:00.123456Z", "yesterday"])
            return st.one_of(st.sampled_from(WORDS), st.text(max_size=12))
        return json_values(3)

    def _object(self, schema: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
        props: dict[str, Any] = schema.get("properties", {})
        required = [p for p in schema.get("required", ()) if p in props]
        optional = [p for p in props if p not in required]
        extra = schema.get("additionalProperties")

        @st.composite
        def build(draw: st.DrawFn) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for p in required:
                out[p] = draw(self._for(props[p], depth + 1))
            if optional and depth < 7:
                chosen = draw(st.lists(st.sampled_from(optional), max_size=3 if depth < 3 else 1, unique=True))
                for p in chosen:
                    out[p] = draw(self._for(props[p], depth + 1))
            if isinstance(extra, dict):
                keys = draw(st.lists(st.one_of(st.sampled_from(WORDS[:12]), st.text(max_size=10)),
                                     max_size=2, unique=True))
                for k in keys:
                    out[k] = draw(self._for(extra, depth + 1))
            return out

        return build()

    def property_paths(self, ref: str, max_depth: int = 6) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
        """Every (path, schema) reachable through properties from ``ref``, arrays as index 0."""
        out: list[tuple[tuple[str, ...], dict[str, Any]]] = []

        def walk(schema: dict[str, Any], path: tuple[str, ...], seen: frozenset[str]) -> None:
            if len(path) >= max_depth:
                return
            target = schema
            names = set()
            while "$ref" in target or (len(target.get("allOf", ())) == 1 and "type" not in target):
                if "$ref" in target:
                    names.add(target["$ref"])
                    target = self.schema(target["$ref"])
                else:
                    target = target["allOf"][0]
            if names & seen:
                return
            seen = seen | names
            for name, sub in target.get("properties", {}).items():
                out.append(((*path, name), sub))
                walk(sub, (*path, name), seen)
            if target.get("type") == "array" and "items" in target:
                walk(target["items"], (*path, "0"), seen)

        walk({"$ref": ref}, (), frozenset())
        return out


def set_path(value: Any, path: tuple[str, ...], new: Any, *, delete: bool = False) -> Any:
    """``value`` with ``path`` set to ``new`` (creating objects and one-element lists on the way)."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, list) and head.isdigit():
        items = list(value) or [{}]
        idx = min(int(head), len(items) - 1)
        if delete and not rest:
            return items[:idx] + items[idx + 1:]
        items[idx] = set_path(items[idx], rest, new, delete=delete)
        return items
    if head.isdigit():
        return [set_path({}, rest, new, delete=delete)]
    obj = dict(value) if isinstance(value, dict) else {}
    if delete and not rest:
        obj.pop(head, None)
        return obj
    obj[head] = set_path(obj.get(head, {} if rest and not rest[0].isdigit() else []), rest, new, delete=delete)
    return obj


def value_paths(value: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every path inside a JSON value (list indexes as digit strings)."""
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += value_paths(v, (*prefix, str(k)))
    elif isinstance(value, list):
        for i, v in enumerate(value[:3]):
            out += value_paths(v, (*prefix, str(i)))
    return out


@st.composite
def mutate(draw: st.DrawFn, value: Any) -> Any:
    """``value`` with one nasty value put at, or one key removed from, a random place."""
    paths = [p for p in value_paths(value) if p]
    if not paths:
        return draw(nasty())
    # A depth first, then a path of that depth: top-level fields (metadata, spec) are hit as often as deep ones.
    depths = sorted({len(p) for p in paths})
    depth = depths[draw(st.integers(0, len(depths) - 1))]
    at_depth = [p for p in paths if len(p) == depth]
    path = at_depth[draw(st.integers(0, len(at_depth) - 1))]
    if draw(st.integers(0, 4)) == 0:
        return set_path(value, path, None, delete=True)
    return set_path(value, path, draw(nasty()))
