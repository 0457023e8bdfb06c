"""The real listener under clients that misbehave: slow or silent connections, plain HTTP on the
HTTPS port, client certificates that fail verification, malformed and oversized requests."""

from __future__ import annotations

import asyncio
import datetime
import logging
import ssl

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import pyk8s.api  # noqa: F401
from pyk8s.apiserver.config import ServerConfig
from pyk8s.apiserver.endpoints.system import Readiness
from pyk8s.apiserver.server import APIServer
from pyk8s.util import pki
from tests.integration.apiserver.fakes import FakeRegistry
from tests.integration.apiserver.test_http_tls import client_context, free_port

SHORT = 0.5  # the header deadline and idle timeout these tests run with
PATIENCE = 15.0  # how long a test waits for the server to close: far above SHORT, far below the defaults


@pytest.fixture
async def server(tmp_path):
    config = ServerConfig(data_dir=tmp_path / "data", secure_port=free_port(), insecure_port=free_port(),
                          read_header_timeout=SHORT, idle_timeout=SHORT)
    srv = APIServer(config, registry=FakeRegistry(), readiness=Readiness())
    task = asyncio.create_task(srv.run())
    await asyncio.wait_for(srv.started.wait(), 10)
    try:
        yield srv
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def tls_connect(srv: APIServer, tmp_path, ctx: ssl.SSLContext | None = None):
    ctx = ctx or client_context(srv, tmp_path, with_cert=False)
    return await asyncio.open_connection("127.0.0.1", srv.config.secure_port, ssl=ctx, server_hostname="localhost")


async def closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """Everything the server still sends before it closes the connection (fails if it never does)."""
    return await asyncio.wait_for(reader.read(), PATIENCE)


# --- connection timeouts ------------------------------------------------------------------------


async def test_tls_connection_that_sends_nothing_is_closed(server, tmp_path):
    reader, writer = await tls_connect(server, tmp_path)
    assert await closed_by_server(reader) == b""
    writer.close()


async def test_tcp_connection_without_a_handshake_is_closed(server):
    reader, writer = await asyncio.open_connection("127.0.0.1", server.config.secure_port)
    assert await closed_by_server(reader) == b""
    writer.close()


async def test_half_a_header_trickled_slowly_is_cut_off(server, tmp_path):
    reader, writer = await tls_connect(server, tmp_path)
    writer.write(b"GET /version HTTP/1.1\r\nHost: x\r\n")
    closed = asyncio.create_task(closed_by_server(reader))
    for _ in range(int(PATIENCE / 0.1)):  # a byte every 100 ms never finishes the header: Go's absolute deadline
        if closed.done():
            break
        writer.write(b"X")
        await asyncio.sleep(0.1)
    assert await closed == b""
    writer.close()


async def test_idle_keep_alive_connection_is_closed_after_a_request(server, tmp_path):
    reader, writer = await tls_connect(server, tmp_path)
    writer.write(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 200")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
    await reader.readexactly(length)
    assert await closed_by_server(reader) == b""
    writer.close()


async def test_a_watch_outlives_the_header_and_idle_timeouts(server, tmp_path):
    token = server.credentials.admin_token
    ctx = client_context(server, tmp_path, with_cert=False)
    url = f"https://127.0.0.1:{server.config.secure_port}/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=2"
    async with aiohttp.ClientSession() as s:
        async with s.get(url, ssl=ctx, headers={"Authorization": f"Bearer {token}"}) as resp:
            assert resp.status == 200
            assert await asyncio.wait_for(resp.content.read(), 10) == b""  # ended by timeoutSeconds, not cut
            assert resp.content.is_eof()


# --- plain HTTP on the HTTPS port ---------------------------------------------------------------


async def test_plain_http_on_the_https_port_gets_go_s_400(server):
    reader, writer = await asyncio.open_connection("127.0.0.1", server.config.secure_port)
    writer.write(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = await closed_by_server(reader)
    assert answer == b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"
    writer.close()
    # The listener keeps serving TLS afterwards.
    async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{server.config.secure_port}/version") as resp:
        assert resp.status == 400


# --- client certificates ------------------------------------------------------------------------


def _leaf(issuer_cert: x509.Certificate, issuer_key, *, not_before: datetime.datetime,
          not_after: datetime.datetime, usage=ExtendedKeyUsageOID.CLIENT_AUTH) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters"),
                                     x509.NameAttribute(NameOID.COMMON_NAME, "mallory")]))
            .issuer_name(issuer_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .sign(issuer_key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _load_pair(pair: pki.KeyPair):
    return x509.load_pem_x509_certificate(pair.cert_pem), serialization.load_pem_private_key(pair.key_pem, None)


async def test_client_certificates_that_fail_verification_get_401_not_a_handshake_failure(server, tmp_path):
    now = datetime.datetime.now(datetime.UTC)
    day = datetime.timedelta(days=1)
    other = pki.create_ca(tmp_path / "o.crt", tmp_path / "o.key", "other")
    ours = _load_pair(server.credentials.pki.ca)
    certs = {
        "another CA": _leaf(*_load_pair(other), not_before=now - day, not_after=now + day),
        "expired": _leaf(*ours, not_before=now - 3 * day, not_after=now - day),
        "not yet valid": _leaf(*ours, not_before=now + day, not_after=now + 3 * day),
        "server-only usage": _leaf(*ours, not_before=now - day, not_after=now + day,
                                   usage=ExtendedKeyUsageOID.SERVER_AUTH),
    }
    url = f"https://127.0.0.1:{server.config.secure_port}/api/v1/namespaces"
    for what, (cert_pem, key_pem) in certs.items():
        (tmp_path / "c.pem").write_bytes(cert_pem)
        (tmp_path / "k.pem").write_bytes(key_pem)
        ctx = client_context(server, tmp_path, with_cert=False)
        ctx.load_cert_chain(tmp_path / "c.pem", tmp_path / "k.pem")
        async with aiohttp.ClientSession() as s, s.get(url, ssl=ctx) as resp:
            assert resp.status == 401, what
            body = await resp.json()
            assert (body["kind"], body["reason"], body["message"]) == ("Status", "Unauthorized", "Unauthorized"), what
    # A valid certificate from our CA still authenticates.
    async with aiohttp.ClientSession() as s, s.get(url, ssl=client_context(server, tmp_path, with_cert=True)) as resp:
        assert resp.status == 200


# --- malformed and oversized requests -----------------------------------------------------------


MALFORMED = {
    "NUL in a header": b"GET /version HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
    "bad chunk size": b"POST /version HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    "negative Content-Length": b"POST /version HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    "too many headers": b"GET /version HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(300)) + b"\r\n",
}


async def test_malformed_requests_get_400_and_no_error_log(server, caplog):
    caplog.set_level(logging.DEBUG)
    for what, raw in MALFORMED.items():
        reader, writer = await asyncio.open_connection("127.0.0.1", server.config.insecure_port)
        writer.write(raw)
        answer = await closed_by_server(reader)
        writer.close()
        assert answer.split(b"\r\n")[0].endswith(b" 400 Bad Request"), what
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert loud == []
    # One line per bad request, no flood.
    assert sum("malformed request" in r.getMessage() for r in caplog.records) == len(MALFORMED)


async def test_long_request_lines_are_accepted_as_go_accepts_them(server):
    selector = "app+in+(" + ",".join(f"v{i}" for i in range(20000)) + ")"  # ~150 KB
    assert len(selector) > 100_000
    url = f"http://127.0.0.1:{server.config.insecure_port}/api/v1/namespaces/default/configmaps?labelSelector={selector}"
    async with aiohttp.ClientSession() as s, s.get(url) as resp:
        assert resp.status == 200, await resp.text()


async def test_a_header_past_one_mebibyte_gets_431(server):
    reader, writer = await asyncio.open_connection("127.0.0.1", server.config.insecure_port)
    writer.write(b"GET /version HTTP/1.1\r\nHost: x\r\n")
    for i in range(20):  # 20 x 64 KiB, each field under the per-field limit, together past 1 MiB
        writer.write(b"X-%d: %s\r\n" % (i, b"y" * 65536))
    writer.write(b"\r\n")
    answer = await closed_by_server(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large")
