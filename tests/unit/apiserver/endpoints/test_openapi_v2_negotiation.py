"""Which form ``GET /openapi/v2`` answers with, by Accept (kube-openapi's handler rules)."""

import pytest

from pyk8s.apiserver.endpoints.openapi import v2_wants_protobuf

PB = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
PB_DOTTED = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"


@pytest.mark.parametrize(("accept", "proto"), [
    ("", False),
    ("*/*", False),
    ("application/json", False),
    ("application/*", False),
    ("application/json, */*", False),
    (PB, True),  # what kubectl's discovery client sends
    (PB_DOTTED, True),
    (f"{PB}, application/json", True),
    (f"application/json, {PB}", False),
    (f"application/json;q=0.5, {PB}", True),
    (f"*/*, {PB}", True),  # a specific type outranks a wildcard at the same q
    ("application/yaml", None),
    ("text/html, application/vnd.kubernetes.protobuf", None),
    (f"{PB};q=0", None),
])
def test_v2_negotiation(accept, proto):
    assert v2_wants_protobuf(accept) is proto
