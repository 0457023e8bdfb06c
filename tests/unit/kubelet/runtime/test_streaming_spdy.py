"""SPDY/3.1 sessions: streams with compressed headers, data, half-close, resets and pings, over split input."""

from __future__ import annotations

import asyncio
import struct
import zlib

from pyk8s.kubelet.runtime.cri import streaming_spdy as spdy


async def pair(*, bytewise: bool = False) -> tuple[spdy.Session, spdy.Session]:
    """A client and a server session wired back to back (optionally fed one byte at a time)."""
    holder: dict[str, spdy.Session] = {}

    def sender(peer: str):  # type: ignore[no-untyped-def]
        async def send(frame: bytes) -> None:
            chunks = [frame[i:i + 1] for i in range(len(frame))] if bytewise else [frame]
            for chunk in chunks:
                holder[peer].feed(chunk)
        return send

    holder["server"] = spdy.Session(sender("client"), client=False)
    holder["client"] = spdy.Session(sender("server"), client=True)
    return holder["client"], holder["server"]


def test_dictionary_is_spdy3s() -> None:
    assert len(spdy.DICTIONARY) == 1423
    assert spdy.DICTIONARY.startswith(b"\x00\x00\x00\x07options\x00\x00\x00\x04head")
    assert spdy.DICTIONARY.endswith(b",*,enq=0.")
    # A header block's zlib stream names the dictionary by its Adler-32 (FDICT): the peer must know it.
    deflate = zlib.compressobj(zdict=spdy.DICTIONARY)
    stream = deflate.compress(b"x") + deflate.flush()
    assert stream[2:6] == struct.pack(">I", zlib.adler32(spdy.DICTIONARY))


async def test_streams_carry_headers_data_and_fin() -> None:
    client, server = await pair()
    first = client.open_stream({"streamType": "error", "port": "80", "requestID": "0"})
    second = client.open_stream({"streamType": "data", "port": "80", "requestID": "0"})
    accepted = [await server.incoming.get(), await server.incoming.get()]
    # Names arrive lower-cased; the second block decodes only if the compression context carried over.
    assert [s.headers for s in accepted] == [{"streamtype": "error", "port": "80", "requestid": "0"},
                                             {"streamtype": "data", "port": "80", "requestid": "0"}]
    assert (first.id, second.id) == (1, 3)
    await asyncio.wait_for(second.replied.wait(), 1)
    second.write(b"ping" * 20000)
    second.close()
    assert await asyncio.wait_for(accepted[1].read_all(), 2) == b"ping" * 20000
    accepted[1].write(b"pong")
    accepted[1].close()
    assert await asyncio.wait_for(second.read_all(), 2) == b"pong"
    await client.close()
    await server.close()


async def test_frames_split_across_feeds_are_reassembled() -> None:
    client, server = await pair(bytewise=True)
    stream = client.open_stream({"streamtype": "stdin"})
    stream.write(b"hello")
    stream.close()
    accepted = await asyncio.wait_for(server.incoming.get(), 2)
    assert accepted is not None and accepted.headers == {"streamtype": "stdin"}
    assert await asyncio.wait_for(accepted.read_all(), 2) == b"hello"
    await client.close()
    await server.close()


async def test_reset_and_session_end_finish_readers() -> None:
    client, server = await pair()
    stream = client.open_stream({"streamtype": "data"})
    accepted = await asyncio.wait_for(server.incoming.get(), 2)
    assert accepted is not None
    stream.reset()
    assert await asyncio.wait_for(accepted.read(), 2) == b""
    other = client.open_stream({"streamtype": "error"})
    server.feed_eof()
    assert await asyncio.wait_for(server.incoming.get(), 2) in (None, server.streams.get(other.id))
    await client.close()
    assert await asyncio.wait_for(other.read(), 2) == b""


async def test_a_peers_ping_is_echoed() -> None:
    sent: list[bytes] = []

    async def send(frame: bytes) -> None:
        sent.append(frame)

    server = spdy.Session(send, client=False)
    server.feed(spdy.control_frame(spdy.PING, 0, struct.pack(">I", 1)))  # odd: the client's ping
    server.feed(spdy.control_frame(spdy.PING, 0, struct.pack(">I", 2)))  # even: our own ping's echo
    await asyncio.sleep(0.05)
    assert sent == [spdy.control_frame(spdy.PING, 0, struct.pack(">I", 1))]
    await server.close()


def test_header_blocks_round_trip() -> None:
    headers = {"streamtype": "data", "port": "8080", "requestid": "7"}
    assert spdy.decode_headers(spdy.encode_headers(headers)) == headers
