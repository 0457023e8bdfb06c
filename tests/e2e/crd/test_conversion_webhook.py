"""Conversion strategy Webhook: a ConversionReview v1 server over TLS (a thread of the test process,
on loopback, trusted through the CRD's caBundle) converts between v1 (spec.size) and v2
(spec.dimensions.size); objects written in one version read back in the other."""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from pyk8s.testing.cluster import ServerProcess, free_port
from pyk8s.testing.selfsigned import self_signed
from tests.e2e.helpers import wait_until


def _convert(obj: dict, desired: str) -> dict:
    spec = dict(obj.get("spec") or {})
    if desired.endswith("/v2") and "size" in spec:
        spec = {"dimensions": {"size": spec.pop("size")}, **spec}
    elif desired.endswith("/v1") and "dimensions" in spec:
        spec = {"size": spec.pop("dimensions").get("size"), **spec}
    return dict(obj, apiVersion=desired, spec=spec)


async def _review(request: web.Request) -> web.Response:
    review = await request.json()
    req = review["request"]
    converted = [_convert(o, req["desiredAPIVersion"]) for o in req["objects"]]
    return web.json_response({"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
                              "response": {"uid": req["uid"], "convertedObjects": converted,
                                           "result": {"status": "Success"}}})


@pytest.fixture(scope="module")
def webhook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, bytes]]:
    cert, key = self_signed("localhost")
    d: Path = tmp_path_factory.mktemp("convwebhook")
    (d / "tls.crt").write_bytes(cert)
    (d / "tls.key").write_bytes(key)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(d / "tls.crt"), str(d / "tls.key"))
    port = free_port()
    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_post("/convert", _review)
    runner = web.AppRunner(app)
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port, ssl_context=ctx).start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield port, cert
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def _crd(port: int, cert: bytes) -> str:
    schema = {"type": "object", "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}
    v2_schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {"dimensions": {
        "type": "object", "properties": {"size": {"type": "integer", "maximum": 100}}}}}}}
    return json.dumps({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "boxes.conv.example.com"},
        "spec": {"group": "conv.example.com", "scope": "Namespaced",
                 "names": {"plural": "boxes", "singular": "box", "kind": "Box"},
                 "conversion": {"strategy": "Webhook", "webhook": {
                     "conversionReviewVersions": ["v1"],
                     "clientConfig": {"url": f"https://localhost:{port}/convert",
                                      "caBundle": base64.b64encode(cert).decode()}}},
                 "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}},
                              {"name": "v2", "served": True, "storage": False,
                               "schema": {"openAPIV3Schema": v2_schema}}]},
    })


def test_objects_convert_through_the_webhook(crd_server: ServerProcess, webhook: tuple[int, bytes]) -> None:
    port, cert = webhook
    crd_server.kubectl("apply", "-f", "-", input=_crd(port, cert))
    crd_server.kubectl("wait", "--for=condition=Established", "crd/boxes.conv.example.com", "--timeout=30s")
    wait_until(lambda: crd_server.kubectl("get", "boxes.v2.conv.example.com", check=False).returncode == 0,
               timeout=10, what="boxes v2 to be served")
    crd_server.kubectl("create", "-f", "-", input=json.dumps({
        "apiVersion": "conv.example.com/v2", "kind": "Box",
        "metadata": {"name": "b2", "namespace": "default", "labels": {"made": "v2"}},
        "spec": {"dimensions": {"size": 7}}}))
    v1 = json.loads(crd_server.kubectl("get", "--raw", "/apis/conv.example.com/v1/namespaces/default/boxes/b2").stdout)
    assert v1["apiVersion"] == "conv.example.com/v1" and v1["spec"] == {"size": 7}
    v2 = json.loads(crd_server.kubectl("get", "--raw", "/apis/conv.example.com/v2/namespaces/default/boxes").stdout)
    assert [o["spec"] for o in v2["items"]] == [{"dimensions": {"size": 7}}]
    crd_server.kubectl("patch", "boxes.v2.conv.example.com", "b2", "--type=merge",
                       "-p", '{"spec":{"dimensions":{"size":9}}}')
    v1 = json.loads(crd_server.kubectl("get", "--raw", "/apis/conv.example.com/v1/namespaces/default/boxes/b2").stdout)
    assert v1["spec"] == {"size": 9} and v1["metadata"]["labels"] == {"made": "v2"}

    bad = crd_server.kubectl("patch", "boxes.v2.conv.example.com", "b2", "--type=merge",
                             "-p", '{"spec":{"dimensions":{"size":500}}}', check=False)
    assert "spec.dimensions.size: Invalid value: 500: spec.dimensions.size in body should be less than or " \
           "equal to 100" in bad.stderr  # validated in the requested version, before conversion
