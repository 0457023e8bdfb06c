"""API details the real kubectl trips on (issue 12 §4): protobuf Pods from ``kubectl debug
--copy-to``, ``creationTimestamp: null`` in templates, wrapped Secret data, ``kubectl scale``."""

from __future__ import annotations

import base64
import json
import textwrap

import pytest

from pyk8s.testing.cluster import ServerProcess

pytestmark = pytest.mark.e2e


def test_debug_copy_to_keeps_the_pod(server: ServerProcess) -> None:
    """kubectl debug --copy-to sends the copy as protobuf: it must arrive whole, not as an empty pod."""
    server.kubectl("run", "dbg-src", "--image=busybox:1.36", "--labels=app=dbg", "--env=MODE=x",
                   "--", "sleep", "3600")
    server.kubectl("debug", "dbg-src", "--copy-to=dbg-copy", "--image=busybox:1.36", "--container=debugger",
                   "--share-processes", "--", "sleep", "60")
    pod = json.loads(server.kubectl("get", "pod", "dbg-copy", "-o", "json").stdout)
    containers = {c["name"]: c for c in pod["spec"]["containers"]}
    assert containers["dbg-src"]["image"] == "busybox:1.36"
    assert containers["dbg-src"]["args"] == ["sleep", "3600"]
    assert containers["dbg-src"]["env"] == [{"name": "MODE", "value": "x"}]
    assert containers["debugger"]["command"] == ["sleep", "60"] or containers["debugger"]["args"] == ["sleep", "60"]
    assert pod["spec"]["shareProcessNamespace"] is True
    assert "labels" not in pod["metadata"]  # kubectl drops them from the copy unless --keep-labels


def test_get_yaml_shows_creation_timestamp_null_in_templates(server: ServerProcess) -> None:
    server.kubectl("create", "deployment", "tmpl-null", "--image=nginx")
    out = server.kubectl("get", "deployment", "tmpl-null", "-o", "yaml").stdout
    template = out[out.index("  template:"):]
    assert "    metadata:\n      creationTimestamp: null\n" in template, template


def test_tls_secret_with_wrapped_base64_applies(server: ServerProcess) -> None:
    crt, key = b"-----BEGIN CERTIFICATE-----\n" + bytes(range(200)), b"-----BEGIN PRIVATE KEY-----\n" + b"k" * 200

    def block(data: bytes) -> str:
        return textwrap.indent("\n".join(textwrap.wrap(base64.b64encode(data).decode(), 64)), "    ")

    manifest = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: secret-tls\ntype: kubernetes.io/tls\ndata:\n"
                f"  tls.crt: |\n{block(crt)}\n  tls.key: |\n{block(key)}\n")
    server.kubectl("apply", "-f", "-", input=manifest)
    got = json.loads(server.kubectl("get", "secret", "secret-tls", "-o", "json").stdout)
    assert base64.b64decode(got["data"]["tls.crt"]) == crt and base64.b64decode(got["data"]["tls.key"]) == key


def test_scale_records_managed_fields(server: ServerProcess) -> None:
    server.kubectl("create", "deployment", "scaled", "--image=nginx")
    server.kubectl("scale", "deployment", "scaled", "--replicas=3")
    dep = json.loads(server.kubectl("get", "deployment", "scaled", "-o", "json", "--show-managed-fields").stdout)
    assert dep["spec"]["replicas"] == 3
    scale = [m for m in dep["metadata"]["managedFields"] if m.get("subresource") == "scale"]
    assert scale and scale[0]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}, dep["metadata"]["managedFields"]
