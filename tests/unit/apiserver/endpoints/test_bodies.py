"""Body decoding limits (negotiation) and Warning headers (responses)."""

from __future__ import annotations

import pytest

from pyk8s.apiserver.endpoints import negotiation
from pyk8s.apiserver.endpoints.responses import WARNING_ITEM_CHARS, warning_texts
from pyk8s.machinery.errors import StatusError


@pytest.mark.parametrize(("raw", "want"), [
    ("", ""), ("  ", ""), ("application/json", "application/json"), ("Application/JSON", "application/json"),
    ("application/json;", "application/json"), ("application/json; charset=utf-8", "application/json"),
    ("application/apply-patch+yaml", "application/apply-patch+yaml"),
])
def test_media_types_that_parse(raw, want):
    assert negotiation.parse_media_type(raw) == want


@pytest.mark.parametrize("raw", [";;;", ";", "json", "/", "application/", "application/json; x", "a b/c",
                                 "application/json;;", "application/json; =v"])
def test_media_types_that_do_not_parse_are_415(raw):
    with pytest.raises(StatusError) as err:
        negotiation.parse_media_type(raw)
    assert (err.value.code, err.value.reason) == (415, "UnsupportedMediaType")


def test_deep_json_bodies_are_400_whatever_the_depth():
    for depth in (101, 1000, 100_000):
        body = b'{"a":' * depth + b"1" + b"}" * depth
        with pytest.raises(StatusError) as err:
            negotiation.decode_object("application/json", body)
        assert err.value.message == "error decoding request body: invalid character '{' exceeded max depth"


def test_json_apply_patches_skip_the_yaml_decoder_but_yaml_still_works():
    assert negotiation.decode_patch(negotiation.APPLY_PATCH, b'{"kind": "ConfigMap", "data": {"a": "1"}}') == {
        "kind": "ConfigMap", "data": {"a": "1"}}
    assert negotiation.decode_patch(negotiation.APPLY_PATCH, b"{kind: ConfigMap}") == {"kind": "ConfigMap"}
    assert negotiation.decode_patch(negotiation.APPLY_PATCH, b"kind: ConfigMap\n") == {"kind": "ConfigMap"}


def test_warnings_with_control_characters_are_dropped_and_repeats_go():
    assert warning_texts(["a", "b\rc", "a", "d\x00", "", "e\u00e9"]) == ["a", "e\u00e9"]


def test_warnings_past_4k_are_truncated_then_dropped():
    few = ["x" * 1000] * 1 + ["y" * 1000]
    assert warning_texts(few) == few
    many = [str(i) * 1000 for i in range(10)]
    out = warning_texts(many)
    assert all(len(t) == WARNING_ITEM_CHARS for t in out)
    assert out == [t[:WARNING_ITEM_CHARS] for t in many]  # 10 x 256 fits in 4 KiB
    lots = [f"{i:04d}" * 100 for i in range(40)]
    assert len(warning_texts(lots)) == 15  # 15 x 256 < 4096 <= 16 x 256
