"""API details clients trip on (issue 12 §4): each test failed on the code before its fix."""

from __future__ import annotations

import base64
import textwrap

from tests.integration.apiserver import realserver
from tests.integration.apiserver.realserver import AUTH, YAML

client, registry = realserver.client, realserver.registry  # fixtures

SECRETS = "/api/v1/namespaces/default/secrets"


# --- Secret data wrapped over several lines ---------------------------------------------------

def wrapped(data: bytes) -> str:
    return "\n".join(textwrap.wrap(base64.b64encode(data).decode(), 64)) + "\n"


async def test_secret_data_wrapped_over_lines_is_accepted(client):
    """The kubernetes.io/tls example of the Secret docs: base64 in a YAML block, 64 columns a line."""
    crt, key = b"-----BEGIN CERTIFICATE-----\n" + bytes(range(256)) * 3, b"-----BEGIN PRIVATE KEY-----\n" + b"k" * 300
    doc = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: secret-tls\ntype: kubernetes.io/tls\ndata:\n"
        "  tls.crt: |\n" + textwrap.indent(wrapped(crt), "    ")
        + "  tls.key: |\n" + textwrap.indent(wrapped(key), "    ")
    )
    resp = await client.post(SECRETS, data=doc.encode(), headers=YAML)
    assert resp.status == 201, await resp.text()
    got = await (await client.get(f"{SECRETS}/secret-tls", headers=AUTH)).json()
    # Stored as bytes, read back unwrapped, as Go encodes []byte.
    assert got["data"] == {"tls.crt": base64.b64encode(crt).decode(), "tls.key": base64.b64encode(key).decode()}


async def test_secret_data_that_is_not_base64_is_still_refused(client):
    doc = b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: bad\ndata:\n  a: |\n    not*base64\n    !!\n"
    resp = await client.post(SECRETS, data=doc, headers=YAML)
    assert resp.status in (400, 422), await resp.text()
