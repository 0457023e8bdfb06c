"""Loading YAML request bodies (``application/yaml``, apply patches) safely.

PyYAML resolves an alias to the anchored object itself, so a short document whose
aliases nest a few levels deep expands to gigabytes only when it is encoded or
walked.  Before constructing anything, the node graph is measured the way
upstream's YAML decoder (go-yaml, behind sigs.k8s.io/yaml) measures it: every
node reached through an alias counts, and a document where aliases produce too
large a share of the nodes is refused with ``document contains excessive
aliasing``.  Nesting is capped (``nesting.MAX_DEPTH``), also through aliases, and so
is the expanded size.

Values come out as JSON would carry them (what YAML-to-JSON conversion gives
upstream): mapping keys are strings, timestamps and ``!!binary`` stay strings,
integers too large for 64 bits become floats, and nothing is shared between
two places in the document.
"""

from __future__ import annotations

from typing import Any

import orjson
import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from pyk8s.machinery.errors import too_large
from pyk8s.machinery.nesting import MAX_DEPTH

# go-yaml's alias budget: up to 99% of decoded nodes may come from aliases in a
# document of at most 400,000 nodes, falling linearly to 10% at 4,000,000.
_RATIO_LOW, _RATIO_HIGH = 400_000, 4_000_000
_MIN_ALIASES, _MIN_DECODES = 100, 1000


def allowed_alias_ratio(decodes: int) -> float:
    if decodes <= _RATIO_LOW:
        return 0.99
    if decodes >= _RATIO_HIGH:
        return 0.10
    return 0.99 - 0.89 * (decodes - _RATIO_LOW) / (_RATIO_HIGH - _RATIO_LOW)


if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class _Base(Composer, CParser, SafeConstructor, Resolver):  # type: ignore[misc]
        """libyaml's parser (its scanner is many times faster than PyYAML's) under PyYAML's composer,
        which is Python and so can be bounded."""

        def __init__(self, stream: bytes | str) -> None:
            CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
else:  # pragma: no cover - PyYAML built without libyaml
    _Base = yaml.SafeLoader  # type: ignore[misc,assignment]


class _Loader(_Base):
    def __init__(self, stream: bytes | str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        # The composer recurses per level: refuse before the stack does.
        if self._depth >= MAX_DEPTH and self.check_event(yaml.MappingStartEvent, yaml.SequenceStartEvent):
            raise yaml.YAMLError(f"exceeded max depth of {MAX_DEPTH}")
        self._depth += 1
        try:
            return Composer.compose_node(self, parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[str, Any]:  # type: ignore[override]
        # Keys become their JSON text before they meet in one dict (so ``1`` and ``true`` stay apart).
        if not isinstance(node, MappingNode):
            raise yaml.constructor.ConstructorError(None, None, f"expected a mapping node, but found {node.id}",
                                                    node.start_mark)
        self.flatten_mapping(node)
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, (list, dict)):
                raise yaml.constructor.ConstructorError("while constructing a mapping", node.start_mark,
                                                        "found unhashable key", key_node.start_mark)
            mapping[_key_text(key)] = self.construct_object(value_node, deep=deep)
        return mapping


def _key_text(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return key if isinstance(key, str) else str(key)


def _construct_int(loader: SafeConstructor, node: ScalarNode) -> int | float:
    value = SafeConstructor.construct_yaml_int(loader, node)
    return value if -(2**63) <= value < 2**64 else float(value)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", SafeConstructor.construct_yaml_str)  # type: ignore[type-var]
_Loader.add_constructor("tag:yaml.org,2002:binary", SafeConstructor.construct_yaml_str)  # type: ignore[type-var]
_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)  # type: ignore[type-var]


def _measure(root: Node, max_bytes: int) -> bool:
    """Walk the node graph as the decoder would expand it; True when aliases were used.

    Raises the YAML error for excessive aliasing or nesting, 413 past ``max_bytes``.
    """
    seen: set[int] = set()
    decodes = aliases = size = 0
    stack: list[tuple[Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, via_alias = stack.pop()
        via_alias = via_alias or id(node) in seen
        seen.add(id(node))
        decodes += 1
        if via_alias:
            aliases += 1
            if aliases > _MIN_ALIASES and decodes > _MIN_DECODES and \
                    aliases / decodes > allowed_alias_ratio(decodes):
                raise yaml.YAMLError("document contains excessive aliasing")
        if isinstance(node, ScalarNode):
            size += len(node.value) + 3
        else:
            if depth > MAX_DEPTH:
                raise yaml.YAMLError(f"exceeded max depth of {MAX_DEPTH}")
            size += 2
            if isinstance(node, MappingNode):
                children = [n for pair in node.value for n in pair]
            else:
                assert isinstance(node, SequenceNode)
                children = list(node.value)
            stack.extend((child, depth + 1, via_alias) for child in reversed(children))
        if size > max_bytes:
            raise too_large(f"limit is {max_bytes}")
    return bool(aliases)


def load(body: bytes | str, max_bytes: int) -> Any:
    """One YAML document as JSON-shaped values (None when empty).

    Raises ``yaml.YAMLError`` (the caller words the 400) or a 413 StatusError.
    """
    loader = _Loader(body)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        aliased = _measure(node, max_bytes)
        doc = loader.construct_document(node)
    finally:
        loader.dispose()
    return orjson.loads(orjson.dumps(doc)) if aliased else doc
