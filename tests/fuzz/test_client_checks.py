"""The fuzz client's checks, on canned answers: each kind of failure is reported, a proper answer is not."""

from __future__ import annotations

import http.client
import multiprocessing
import ssl
from pathlib import Path
from typing import Any

import pytest

from .client import Client, LogWatcher
from .request_strategies import Request

STATUS_400 = b'{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"BadRequest","code":400}'
TOO_LARGE = b'{"kind":"Status","message":"Too large resource version: 9, current resource version: 5","code":504}'


class _Config:
    server = "https://127.0.0.1:1"

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context()

    def headers(self) -> dict[str, str]:
        return {}


def _client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *answers: Any) -> Client:
    log = tmp_path / "server.log"
    log.write_text("")
    client = Client(_Config(), str(log))  # type: ignore[arg-type]
    replies = list(answers)

    def once(conn: Any, req: Request) -> tuple[int, dict[str, str], bytes]:
        reply = replies.pop(0)
        if isinstance(reply, BaseException):
            raise reply
        return reply

    monkeypatch.setattr(client, "_once", once)
    monkeypatch.setattr(client, "_connect", lambda: object())
    return client


def checks(client: Client, req: Request) -> list[str]:
    return [f.check for f in client.send("op", req)]


def test_proper_answers_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = _client(tmp_path, monkeypatch, (200, {}, b"{}"), (400, {}, STATUS_400), (504, {}, TOO_LARGE),
                     (403, {}, b'{"kind":"Status","code":403}'))
    assert checks(client, Request("GET", "/api/v1/pods")) == []
    assert checks(client, Request("GET", "/api/v1/pods", [("limit", "x")])) == []
    assert checks(client, Request("GET", "/api/v1/pods", [("resourceVersion", "9")])) == []
    assert checks(client, Request("DELETE", "/api/v1/namespaces/kube-system")) == []


def test_each_failure_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = _client(tmp_path, monkeypatch, (500, {}, b'{"message":"boom"}'), (400, {}, b"bad"),
                     (200, {}, b"{}"), http.client.RemoteDisconnected("closed"), (200, {}, b"{}"))
    assert checks(client, Request("GET", "/api/v1/pods")) == ["5xx"]
    assert checks(client, Request("GET", "/api/v1/pods")) == ["not a Status"]
    assert checks(client, Request("DELETE", "/api/v1/namespaces/default")) == ["system namespace"]
    assert checks(client, Request("GET", "/api/v1/pods")) == ["dropped"]
    with open(tmp_path / "server.log", "a") as log:
        log.write('ERROR internal error\nTraceback (most recent call last):\n  File "x.py", line 1, in f\n'
                  "AttributeError: 'list' object has no attribute 'get'\n")
    found = client.send("op", Request("GET", "/api/v1/pods"))
    assert [f.check for f in found] == ["traceback"]
    assert found[0].detail.startswith("AttributeError: 'list' object has no attribute 'get'")


def test_workers_sharing_a_log_offset_report_each_traceback_once(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    log = tmp_path / "server.log"
    log.write_text("started\n")
    shared = ctx.Value("q", log.stat().st_size)
    first, second = LogWatcher(str(log), shared=shared), LogWatcher(str(log), shared=shared)
    with open(log, "a") as out:
        out.write('Traceback (most recent call last):\n  File "x.py", line 1, in f\nKeyError: \'spec\'\n')
    # Another process (a worker) looks first: this one sees nothing new, and neither does a later look.
    proc = ctx.Process(target=first.new_tracebacks)
    proc.start()
    proc.join(30)
    assert proc.exitcode == 0
    assert second.new_tracebacks() == []
    with open(log, "a") as out:
        out.write('Traceback (most recent call last):\n  File "y.py", line 2, in g\nValueError: bad\n')
    assert [tb.split("  (")[0] for tb in second.new_tracebacks()] == ["ValueError: bad"]
    assert first.new_tracebacks() == []
