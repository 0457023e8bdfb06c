"""Sending fuzzed requests and judging the answers.

One kept-alive HTTPS connection with the admin credentials.  A request whose
connection closes (or resets) before a full response is retried once on a new
connection, because a kept-alive connection may have been closed by the
server between requests; failing on the new connection too is a dropped
response.  After each request the new part of the server log is read, and a
traceback in it is blamed on the request (and the one before it, which is
listed with it, as logging may lag).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyk8s.client.kubeconfig import ClientConfig

from .request_strategies import SYSTEM_NAMESPACES, Request

READ_TIMEOUT = 5.0
#: how long a watch may take to send its response headers (upstream sends them at once, or a Status)
WATCH_HEADERS_TIMEOUT = 4.0
#: how long a watch is read before the client hangs up (the server must cope with that too)
WATCH_READ = 0.3
DROPPED = (http.client.RemoteDisconnected, http.client.IncompleteRead, ConnectionResetError, BrokenPipeError,
           ConnectionAbortedError, ssl.SSLError, http.client.BadStatusLine)


@dataclass
class Finding:
    """One failed check: what was sent, what came back."""

    check: str  # "5xx", "dropped", "traceback", "not a Status", "system namespace"
    op: str
    request: str
    detail: str
    signature: str

    def render(self) -> str:
        return f"[{self.check}] {self.op}\n  {self.request}\n  -> {self.detail}"


class LogWatcher:
    """New tracebacks in the server's log since the last look."""

    def __init__(self, path: str, shared: Any = None) -> None:
        self.path = Path(path)
        # A multiprocessing.Value("q") when worker processes fuzz at once: one offset, so that each traceback is
        # reported once (by the worker that looked first).
        self.shared = shared
        self.offset = self.path.stat().st_size if self.path.exists() else 0

    def new_tracebacks(self) -> list[str]:
        with self.shared.get_lock() if self.shared is not None else contextlib.nullcontext():
            if self.shared is not None:
                self.offset = self.shared.value
            try:
                with self.path.open("rb") as f:
                    f.seek(self.offset)
                    text = f.read().decode("utf-8", "replace")
                    self.offset = f.tell()
            except OSError:
                return []
            if self.shared is not None:
                self.shared.value = self.offset
        out = []
        for chunk in text.split("Traceback (most recent call last):")[1:]:
            lines = [line for line in chunk.splitlines() if line.strip()]
            # The exception line is the first unindented line after the frames.
            last = next((line for line in lines if not line.startswith(" ")), lines[-1] if lines else "")
            out.append("Traceback ... " + " | ".join(lines[-4:]) if not last else last + "  (" + _frame(lines) + ")")
        return out


def _frame(lines: list[str]) -> str:
    frames = [line.strip() for line in lines if line.strip().startswith('File "')]
    return frames[-1] if frames else ""


class Client:
    def __init__(self, config: ClientConfig, log_path: str, log: LogWatcher | None = None) -> None:
        self.config = config
        host = config.server.split("://", 1)[1].rstrip("/")
        self.host, _, port = host.rpartition(":")
        self.port = int(port)
        self.context = config.ssl_context()
        self.auth = config.headers()
        self.conn: http.client.HTTPSConnection | None = None
        self.log = log if log is not None else LogWatcher(log_path)
        self.sent = 0
        self.statuses: dict[int, int] = {}
        self.last_status = 0
        self.previous = ""

    def _connect(self) -> http.client.HTTPSConnection:
        self.close()
        self.conn = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=READ_TIMEOUT)
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _once(self, conn: http.client.HTTPSConnection, req: Request) -> tuple[int, dict[str, str], bytes]:
        try:
            return self._exchange(conn, req)
        except BaseException:
            # Whatever broke the exchange (the server, a timeout, Hypothesis stopping the example), the
            # connection is mid-request now: the next request must not reuse it.
            self.close()
            raise

    def _exchange(self, conn: http.client.HTTPSConnection, req: Request) -> tuple[int, dict[str, str], bytes]:
        headers = {**self.auth, **req.headers}
        conn.timeout = WATCH_HEADERS_TIMEOUT if req.watch else READ_TIMEOUT
        if conn.sock is not None:
            conn.sock.settimeout(conn.timeout)
        conn.request(req.method, req.target, body=req.body, headers=headers)
        resp = conn.getresponse()
        if req.watch and resp.status == 200:
            # Read what arrives for a moment, then hang up as an impatient client would.
            assert conn.sock is not None
            conn.sock.settimeout(WATCH_READ)
            try:
                body = resp.read1(65536)
            except TimeoutError:
                body = b""
            self.close()
            return resp.status, dict(resp.getheaders()), body
        body = resp.read()
        if resp.will_close:
            self.close()
        return resp.status, dict(resp.getheaders()), body

    def send(self, op: str, req: Request) -> list[Finding]:
        """Send ``req``; the checks it fails."""
        self.sent += 1
        findings: list[Finding] = []
        described = req.describe()
        try:
            fresh = self.conn is None
            conn = self.conn or self._connect()
            try:
                status, headers, body = self._once(conn, req)
            except DROPPED:
                if fresh:
                    raise
                status, headers, body = self._once(self._connect(), req)
        except DROPPED as err:
            self.close()
            findings.append(Finding("dropped", op, described + f"\n  (request before: {self.previous})",
                                    f"{type(err).__name__}: {err}",
                                    f"dropped|{op}|{type(err).__name__}"))
            status, _headers, body = 0, {}, b""
        except TimeoutError:
            self.close()
            wait = WATCH_HEADERS_TIMEOUT if req.watch else READ_TIMEOUT
            findings.append(Finding("dropped", op, described + f"\n  (request before: {self.previous})",
                                    f"no response within {wait}s",
                                    f"timeout|{op}"))
            status, _headers, body = 0, {}, b""
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.last_status = status
        if status >= 500 and not _too_large_rv(status, body):
            findings.append(Finding("5xx", op, described, f"{status} {_message(body)}",
                                    f"5xx|{op}|{status}|{_message(body)[:80]}"))
        elif 400 <= status < 500 and "Accept" not in req.headers and not _is_status(body, status):
            findings.append(Finding("not a Status", op, described, f"{status} {body[:200]!r}",
                                    f"status|{op}|{status}"))
        if (req.method == "DELETE" and 200 <= status < 300
                and any(req.path == f"/api/v1/namespaces/{ns}" for ns in SYSTEM_NAMESPACES)):
            findings.append(Finding("system namespace", op, described, f"{status}: a system namespace was deleted",
                                    f"sysns|{req.path}"))
        for tb in self.log.new_tracebacks():
            findings.append(Finding("traceback", op, described + f"\n  (request before: {self.previous})", tb,
                                    f"tb|{tb[:160]}"))
        self.previous = described.splitlines()[0]
        return findings


def _too_large_rv(status: int, body: bytes) -> bool:
    """Upstream's one 5xx for a client's input: a resourceVersion the server has not reached yet."""
    return status == 504 and _message(body).startswith("Too large resource version")


def _message(body: bytes) -> str:
    try:
        doc = json.loads(body)
    except ValueError:
        return repr(body[:200])
    return str(doc.get("message", "")) if isinstance(doc, dict) else repr(body[:200])


def _is_status(body: bytes, code: int) -> bool:
    try:
        doc: Any = json.loads(body)
    except ValueError:
        return False
    return isinstance(doc, dict) and doc.get("kind") == "Status" and doc.get("code") == code
