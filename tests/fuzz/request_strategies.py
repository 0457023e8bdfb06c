"""What one fuzzed request is, and the strategy that draws requests for one operation.

Every request names an object from a small pool, so that creates, reads,
updates and deletes of one run meet each other.  Query parameters come from
the operation's own list plus the common list/watch/write/delete ones, each
drawn valid or invalid.  Bodies are drawn per content type: for ``*/*`` as
JSON, YAML, protobuf-looking bytes or garbage; for PATCH as JSON patch, merge
patch, strategic merge patch (with its directives) or apply YAML.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sys
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
from hypothesis import strategies as st

from .operations import Operation
from .schemas import SchemaStrategies, deref, json_values, mutate, nasty, set_path
from .seeds import seed

#: the namespace the fuzzer works in (created by the fixture, never a delete target)
FUZZ_NS = "fuzz"
SYSTEM_NAMESPACES = ("kube-system", "kube-public", "default")
NAMES = ("fz-a", "fz-b", "fz-seed")
BAD_NAMES = ("Bad_Name", "a" * 300, "..", "-x", "x%2Fy", "%00", "é")
NAMESPACES = (FUZZ_NS,) * 5 + ("default", "kube-system", "fz-missing")
#: names of Namespace objects: writes and deletes never aim at the fuzzer's own namespace
NAMESPACE_NAMES = ("fz-doomed", "fz-doomed", *SYSTEM_NAMESPACES, "fz-missing")

PATCH_TYPES = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
)
BODY_TYPES = ("application/json", "application/json", "application/yaml", "application/vnd.kubernetes.protobuf")
ODD_CONTENT_TYPES = ("text/plain", ";;;", "application/json; charset=latin1", "application/xml", "", "*/*",
                     "application/json-patch+json", "application/apply-patch+yaml")

_INTS = st.one_of(st.integers(-2, 600), st.sampled_from(["abc", "", "1.5", "-1", "99999999999999999999999",
                                                             "0x10", " 1", "1e3"]))
_BOOLS = st.sampled_from(["true", "false", "1", "0", "True", "yes", "", "maybe"])
_RVS = st.sampled_from(["", "0", "1", "5", "999999999", "abc", "-1", "99999999999999999999999", "1.5"])
_SELECTORS = st.one_of(
    st.sampled_from(["", "app=fz", "app!=fz", "app", "!app", "app in (fz,x)", "app notin (fz)", "a=b,c=d",
                     "app==fz", "=", "app=", "in", "app in (", "a b", "app=" + "x" * 70, "x" * 9000,
                     "app in ()", "a=b,", ",", "example.com/app=fz", "APP=FZ", "a.b/c/d=e"]),
    st.text(max_size=20),
)
_FIELD_SELECTORS = st.one_of(
    st.sampled_from(["", "metadata.name=fz-a", "metadata.namespace=fuzz", "metadata.name!=fz-a",
                     "status.phase=Running", "spec.nodeName=", "spec.nodeName=fz-a", "involvedObject.name=fz-a",
                     "type=Opaque", "spec.unschedulable=false", "status.successful=1", "no.such.field=x",
                     "metadata.name", "metadata.name in (a)", "=x", "metadata.name==fz-a,metadata.namespace=fuzz"]),
    st.text(max_size=20),
)
_CONTINUE = st.sampled_from(["", "abc", "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6LTEsInN0YXJ0IjoiIn0",
                             "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6NSwic3RhcnQiOiJmei1hIn0",
                             "eyJydiI6bnVsbH0", "%%%", "e30", "W10"])
#: known query parameters -> strategy for their raw value
QUERY_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "limit": _INTS,
    "resourceVersion": _RVS,
    "resourceVersionMatch": st.sampled_from(["", "Exact", "NotOlderThan", "exact", "Bogus"]),
    "timeoutSeconds": _INTS,
    "labelSelector": _SELECTORS,
    "fieldSelector": _FIELD_SELECTORS,
    "continue": _CONTINUE,
    "allowWatchBookmarks": _BOOLS,
    "sendInitialEvents": _BOOLS,
    "pretty": _BOOLS,
    "dryRun": st.sampled_from(["All", "", "all", "None", "All&dryRun=All"]),
    "fieldManager": st.sampled_from(["fuzz", "", "x" * 200, "a\nb", "kubectl-client-side-apply"]),
    "fieldValidation": st.sampled_from(["Strict", "Warn", "Ignore", "", "strict", "Bogus"]),
    "force": _BOOLS,
    "gracePeriodSeconds": _INTS,
    "propagationPolicy": st.sampled_from(["Background", "Foreground", "Orphan", "", "bogus"]),
    "orphanDependents": _BOOLS,
    "ignoreStoreReadErrorWithClusterBreakingPotential": _BOOLS,
}
# Good names several times over, so that most requests reach an object or a namespace that exists.
_NAMESPACE_VALUES = st.sampled_from(NAMESPACES * 3 + BAD_NAMES)
_NAMESPACE_NAME_VALUES = st.sampled_from(NAMESPACE_NAMES * 2 + BAD_NAMES)
_NAME_VALUES = st.sampled_from(NAMES * 4 + BAD_NAMES)
_ANY_PARAM = st.sampled_from(["", "x", "1", "true"])
_ODD_PARAMS = st.sampled_from([("bogus", "1"), ("limit", "1"), ("watch", "false"), ("", ""), ("pretty", "\x00"),
                               ("fieldSelector", "a=b")])
# Strategies built once: building and validating a strategy costs more than drawing from it.
_MODE6, _MODE8, _MODE10, _MODE12, _MODE20 = (st.integers(0, n - 1) for n in (6, 8, 10, 12, 20))
_ONE_TO_THREE = st.integers(1, 3)
_POOL_NAMES = st.sampled_from(NAMES)
_WATCH_VALUES = st.sampled_from(["true", "1", "false"])
_NASTY_OR_JSON = st.one_of(nasty(), json_values())
_NONE_OR_NASTY = st.one_of(st.none(), nasty())
_ODD_CONTENT_TYPES = st.sampled_from(ODD_CONTENT_TYPES)
_TEXT_TYPES = st.sampled_from(["application/json", "application/yaml"])
_PATCH_CONTENT_TYPES = st.sampled_from(PATCH_TYPES + PATCH_TYPES + ODD_CONTENT_TYPES[:3])
_PROTOBUF_BYTES = st.sampled_from([b"k8s\x00", b"k8s\x00\n\x02v1\x12\x03Pod", b"\x00\x01\x02"]) | st.binary(max_size=40)
_GARBAGE_BODIES = st.sampled_from([
    b"", b"{", b"null", b"[]", b'"x"', b"\xff\xfe", b"{}" * 3, b'{"a":1,"a":2}', b"- a\n- : b",
    b"a: &x [*x]", b"!!python/object:os.system {}", b"\x00", b'{"kind": "Pod", "apiVersion": "v1"}',
    b"a: b\n" * 3, b"[" * 3000 + b"]" * 3000, b'{"a":' * 3000 + b"1" + b"}" * 3000, b"[" * 100000,
    b"- " * 3000 + b"x",
])
_GARBAGE_PATCHES = st.sampled_from([b"", b"{", b"a: &a [*a, *a]", b"\xff", b"[" * 50000])
_PATCH_OPS = st.sampled_from(["add", "remove", "replace", "move", "copy", "test", "bogus"])
_ODD_POINTERS = st.sampled_from(["", "/", "/metadata/labels/a", "/metadata/labels/a~1b", "/spec/containers/-",
                                 "/x/y/z", "metadata", "/~2", "/spec/containers/99", "/metadata/finalizers/-"])
_ODD_JSON_PATCHES = st.sampled_from([{}, "x", None, [1], [{"op": "add"}],
                                     [{"op": "add", "path": "/metadata/labels", "value": {"a": "b"}}] * 12000])
_SMP_DIRECTIVES = st.sampled_from([
    ("$patch", st.sampled_from(["replace", "delete", "merge", "bogus"])),
    ("$retainKeys", st.lists(st.sampled_from(["a", "name", "x"]), max_size=2) | nasty()),
    ("$setElementOrder/containers", st.just([{"name": "c"}]) | nasty()),
    ("$deleteFromPrimitiveList/finalizers", st.just(["a"]) | nasty()),
])
_SMP_TARGETS = st.sampled_from([(), ("spec",), ("metadata",)])
_ACCEPTS = st.sampled_from([
    "application/yaml", "application/json;as=Table;v=v1;g=meta.k8s.io", "application/vnd.kubernetes.protobuf",
    "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io", "text/html", ";;;", "*/*;q=0",
    "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io",
    "application/json;as=Table;v=v1;g=meta.k8s.io, application/json",
])
LIST_PARAMS = ("limit", "resourceVersion", "resourceVersionMatch", "timeoutSeconds", "labelSelector",
               "fieldSelector", "continue", "allowWatchBookmarks", "sendInitialEvents", "pretty")
WRITE_PARAMS = ("dryRun", "fieldManager", "fieldValidation", "pretty")
DELETE_PARAMS = ("dryRun", "gracePeriodSeconds", "propagationPolicy", "orphanDependents", "pretty")
EXTRA_PARAMS = {
    "list": LIST_PARAMS,
    "deletecollection": LIST_PARAMS + DELETE_PARAMS,
    "get": ("resourceVersion", "pretty"),
    "post": WRITE_PARAMS,
    "put": WRITE_PARAMS,
    "patch": (*WRITE_PARAMS, "force"),
    "delete": DELETE_PARAMS,
}


@dataclass(repr=False)
class Request:
    method: str
    path: str
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    #: read as a stream: what arrives in client.WATCH_READ seconds, then hang up
    watch: bool = False

    @property
    def target(self) -> str:
        qs = urllib.parse.urlencode(self.query)
        return self.path + ("?" + qs if qs else "")

    def __repr__(self) -> str:
        # Short: Hypothesis takes the repr of what it draws, and bodies can be megabytes.
        return f"Request({self.describe(200)!r})"

    def describe(self, body_limit: int = 600) -> str:
        """The request as a curl-like line (body cut at ``body_limit`` bytes)."""
        ct = self.headers.get("Content-Type")
        out = f"{self.method} {self.target}"
        if ct is not None:
            out += f"\n  Content-Type: {ct!r}"
        if self.body is not None:
            text = self.body[:body_limit].decode("utf-8", "backslashreplace")
            more = f" ... ({len(self.body)} bytes)" if len(self.body) > body_limit else ""
            out += f"\n  body: {text}{more}"
        return out


@contextlib.contextmanager
def _deep_recursion() -> Iterator[None]:
    """Room for encoding the deeply nested values ``schemas.nasty`` draws."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 20000))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def dump_json(value: Any) -> bytes:
    with _deep_recursion():
        return json.dumps(value).encode("utf-8", "surrogatepass")


def dump_yaml(value: Any) -> bytes:
    with _deep_recursion():
        return yaml.safe_dump(value, allow_unicode=True).encode("utf-8", "surrogatepass")


class RequestStrategies:
    """Draws ``Request``s for operations of one OpenAPI document."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.schemas = SchemaStrategies(doc["components"]["schemas"])
        self._paths: dict[str, list[tuple[tuple[str, ...], dict[str, Any]]]] = {}
        self._param_names: dict[str, st.SearchStrategy[list[str]]] = {}
        self._sampled: dict[str, Any] = {}
        self._json_patches: dict[str, st.SearchStrategy[Any]] = {}

    # --- pieces ------------------------------------------------------------

    def path_value(self, op: Operation, name: str) -> st.SearchStrategy[str]:
        if name == "namespace":
            return _NAMESPACE_VALUES
        if op.is_namespace_object:
            return _NAMESPACE_NAME_VALUES
        return _NAME_VALUES

    def param_names(self, op: Operation) -> st.SearchStrategy[list[str]]:
        if op.id not in self._param_names:
            names = sorted(set(op.query_params) | set(EXTRA_PARAMS.get(op.action, ())))
            self._param_names[op.id] = st.lists(st.sampled_from(names), max_size=4, unique=True) if names else st.just([])
        return self._param_names[op.id]

    @st.composite
    def query(draw: st.DrawFn, self: RequestStrategies, op: Operation) -> list[tuple[str, str]]:
        chosen = draw(self.param_names(op))
        out = []
        for name in chosen:
            raw = draw(QUERY_VALUES.get(name, _ANY_PARAM))
            out.append((name, str(raw).lower() if isinstance(raw, bool) else str(raw)))
        if draw(st.integers(0, 9)) == 0:  # unknown, repeated or odd parameters
            out.append(draw(_ODD_PARAMS))
        return out

    def body_ref(self, op: Operation) -> str:
        refs = [r for r in op.body_types.values() if r]
        return refs[0] if refs else ""

    def kind_of(self, ref: str) -> tuple[str, str]:
        """(apiVersion, kind) of a component schema."""
        gvks = self.schemas.schema(ref).get("x-kubernetes-group-version-kind") or [{}]
        gvk = gvks[0]
        kind = gvk.get("kind") or deref(ref).rsplit(".", 1)[-1]
        version = gvk.get("version", "v1")
        return (f"{gvk['group']}/{version}" if gvk.get("group") else version), kind

    def schema_paths(self, ref: str) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
        if ref not in self._paths:
            self._paths[ref] = self.schemas.property_paths(ref)
        return self._paths[ref]

    # --- objects -----------------------------------------------------------

    @st.composite
    def obj(draw: st.DrawFn, self: RequestStrategies, ref: str, name: str, namespace: str | None) -> Any:
        """An object of schema ``ref``: a seed, a seed changed in a valid or invalid way, a schema-drawn object
        or garbage."""
        api_version, kind = self.kind_of(ref)
        base = seed(kind, api_version, name, namespace)
        mode = draw(_MODE10)
        if base is None or mode in (7, 8):
            base = draw(self.schemas.valid(ref))
            if isinstance(base, dict) and kind != "DeleteOptions":
                base.update(apiVersion=api_version, kind=kind)
                meta = base.get("metadata") if isinstance(base.get("metadata"), dict) else {}
                base["metadata"] = {**meta, "name": name}
            if mode != 8:
                return base
        if mode in (0, 1):
            return base
        if mode in (2, 3, 4):  # a valid value at a random schema path
            sampled = self._sampled_paths(ref)
            if sampled is not None:
                path, sub = draw(sampled)
                return set_path(base, path, draw(self.schemas.for_schema(sub, len(path))))
            return base
        if mode in (5, 6, 8):
            return draw(mutate(base))
        return draw(_NASTY_OR_JSON)  # 9

    @st.composite
    def encoded(draw: st.DrawFn, self: RequestStrategies, value: Any) -> tuple[str | None, bytes]:
        """``value`` encoded with a drawn content type (sometimes a wrong or odd one)."""
        mode = draw(_MODE20)
        if mode < 12:
            return "application/json", dump_json(value)
        if mode < 16:
            return "application/yaml", dump_yaml(value)
        if mode == 16:
            return "application/vnd.kubernetes.protobuf", draw(_PROTOBUF_BYTES)
        if mode == 17:
            return draw(_ODD_CONTENT_TYPES), dump_json(value)
        if mode == 18:
            return None, dump_json(value)
        return draw(_TEXT_TYPES), draw(_GARBAGE_BODIES)

    # --- patches -----------------------------------------------------------

    def _sampled_paths(self, ref: str) -> st.SearchStrategy[tuple[tuple[str, ...], dict[str, Any]]] | None:
        if ref not in self._sampled:
            paths = self.schema_paths(ref)
            self._sampled[ref] = st.sampled_from(paths) if paths else None
        return self._sampled[ref]

    def json_patch(self, ref: str) -> st.SearchStrategy[Any]:
        if ref not in self._json_patches:
            paths = ["/" + "/".join(p) for p, _ in self.schema_paths(ref)[:300]] or ["/metadata/labels"]
            path_st = st.sampled_from(paths) | _ODD_POINTERS
            op_st = st.fixed_dictionaries({"op": _PATCH_OPS, "path": path_st},
                                          optional={"value": json_values(4) | nasty(), "from": path_st})
            self._json_patches[ref] = st.lists(op_st, min_size=1, max_size=4) | _ODD_JSON_PATCHES
        return self._json_patches[ref]

    @st.composite
    def merge_patch(draw: st.DrawFn, self: RequestStrategies, ref: str, strategic: bool) -> Any:
        value: Any = {}
        sampled = self._sampled_paths(ref)
        for _ in range(draw(_ONE_TO_THREE) if sampled is not None else 0):
            path, sub = draw(sampled)
            new = draw(st.one_of(self.schemas.for_schema(sub, len(path)), _NONE_OR_NASTY))
            value = set_path(value, path, new)
        if strategic and draw(st.booleans()):
            key, vals = draw(_SMP_DIRECTIVES)
            target = draw(_SMP_TARGETS)
            value = set_path(value, (*target, key), draw(vals)) if isinstance(value, dict) else value
        if draw(_MODE6) == 0:
            value = draw(_NASTY_OR_JSON)
        return value

    @st.composite
    def patch_body(draw: st.DrawFn, self: RequestStrategies, op: Operation, name: str,
                   namespace: str | None) -> tuple[str | None, bytes]:
        ref = self.object_ref(op)
        ctype = draw(_PATCH_CONTENT_TYPES)
        if ctype == "application/json-patch+json":
            value = draw(self.json_patch(ref))
        elif ctype == "application/apply-patch+yaml":
            value = draw(self.obj(ref, name, namespace)) if ref else draw(json_values())
            if draw(st.booleans()):
                return ctype, dump_yaml(value)
        else:
            value = draw(self.merge_patch(ref, ctype.startswith("application/strategic")))
        if draw(_MODE10) == 0:
            return ctype, draw(_GARBAGE_PATCHES)
        return ctype, dump_json(value)

    def object_ref(self, op: Operation) -> str:
        """The schema a PATCH applies to: the kind's own (its PATCH body schema is just ``Patch``)."""
        for ref in self.kind_refs(op.kind, op.subresource):
            return ref
        return ""

    @functools.cache  # noqa: B019 - one instance per document, alive for the whole test
    def kind_refs(self, kind: str, subresource: str | None) -> list[str]:
        if subresource == "scale":
            kind = "Scale"
        return [f"#/components/schemas/{n}" for n, s in self.schemas.components.items()
                if any(g.get("kind") == kind for g in s.get("x-kubernetes-group-version-kind") or [])
                or (n.endswith(f".{kind}") and kind == "Scale")]

    # --- whole requests ----------------------------------------------------

    @st.composite
    def request(draw: st.DrawFn, self: RequestStrategies, op: Operation) -> Request:
        values = {p: draw(self.path_value(op, p)) for p in op.path_params}
        path = op.path
        for p, v in values.items():
            path = path.replace("{" + p + "}", urllib.parse.quote(v, safe=""))
        req = Request(op.method.upper(), path, draw(self.query(op)))
        if op.action == "list" and draw(_MODE8) == 0:
            req.query.append(("watch", draw(_WATCH_VALUES)))
        name = values.get("name") or draw(_POOL_NAMES)
        namespace = values.get("namespace")
        if op.method == "patch":
            ctype, req.body = draw(self.patch_body(op, name, namespace))
        elif op.body_types and (op.body_required or draw(st.booleans())):
            ref = self.body_ref(op)
            ctype, req.body = draw(self.encoded(draw(self.obj(ref, name, namespace)) if ref else None))
        else:
            ctype = None
        if ctype is not None:
            req.headers["Content-Type"] = ctype
        if draw(_MODE12) == 0:
            req.headers["Accept"] = draw(_ACCEPTS)
        # Any watch parameter, wherever it came from, may start a stream: read it as one.
        req.watch = any(key == "watch" for key, _ in req.query)
        return req
