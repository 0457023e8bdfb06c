"""The audit filters, in upstream's places in the chain (``Auditor.install``).

* ``init_middleware``, before authentication: the request's audit ID (a client's ``Audit-ID`` header is
  kept, as upstream's WithAuditInit), returned as the ``Audit-Id`` response header; a request whose
  credentials were refused is logged as upstream's failed-authentication event (stage
  ``ResponseStarted``, ``Authentication failed, attempted: ...``, no user).
* ``middleware``, after authentication and before impersonation: the policy is asked with the
  authenticated user; an audited request's event is in ``request[AUDIT_KEY]`` and in
  ``event.CURRENT`` for the code below (authorization decisions, admission annotations).  Stages:
  ``RequestReceived`` first, ``ResponseStarted`` when a long-running request (watch, exec, logs,
  proxy...) sends its headers, ``ResponseComplete`` with the status (a refusal's Status fields), or
  ``Panic`` for an unexpected error.  ``impersonatedUser`` is the user impersonation switched to.

When auditing is off only ``send_audit_id`` is installed: the response's ``Audit-Id`` header, nothing more.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from pyk8s.apiserver.audit import event as events
from pyk8s.apiserver.audit.backend import LogBackend
from pyk8s.apiserver.audit.policy import COMPLETE, PANIC, RECEIVED, STARTED, Policy
from pyk8s.apiserver.authentication.user import USER_KEY, UserInfo
from pyk8s.apiserver.authorization.attributes import attributes_of
from pyk8s.apiserver.requestinfo import long_running, request_info
from pyk8s.machinery.errors import StatusError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
AUDIT_KEY = web.RequestKey("pyk8s.audit-event", events.AuditEvent)
AUDIT_ID_KEY = web.RequestKey("pyk8s.audit-id", str)
HEADER = "Audit-Id"
_NOBODY = UserInfo("")


def _attempted(request: web.BaseRequest) -> str:
    """Upstream's getAuthMethods: what the refused request tried."""
    methods = []
    auth = request.headers.get("Authorization", "").strip()
    scheme = auth.split(" ")[0].lower() if " " in auth else ""
    if scheme == "basic":
        methods.append("basic")
    if scheme == "bearer":
        methods.append("bearer")
    if request.query.get("access_token", "").strip():
        methods.append("access_token")
    transport = request.transport
    if transport is not None and transport.get_extra_info("peercert"):
        methods.append("x509")
    if methods:
        return "Authentication failed, attempted: " + ", ".join(methods)
    return "Authentication failed, no credentials provided"


def new_audit_id() -> str:
    """A random (version 4) UUID in its text form, as ``str(uuid.uuid4())`` gives, without building
    a ``UUID`` object (a few microseconds on every request)."""
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


async def send_audit_id(request: web.Request, response: web.StreamResponse) -> None:
    """The ``Audit-Id`` header of a server that audits nothing: the client's ``Audit-ID`` or a new
    one, so that a client's logs (kubectl -v=8) can name the request as with auditing on."""
    response.headers[HEADER] = request.headers.get("Audit-ID") or new_audit_id()


class Auditor:
    """The policy and the backend of one API server, and its filters."""

    def __init__(self, policy: Policy, backend: LogBackend) -> None:
        self.policy = policy
        self.backend = backend

    def install(self, middlewares: list[Any], authn: Any) -> list[Any]:
        """``middlewares`` with the two audit filters around the authentication filter ``authn``."""
        at = middlewares.index(authn)
        return [*middlewares[:at], self.init_middleware, authn, self.middleware, *middlewares[at + 1:]]

    def new_event(self, request: web.Request, user: UserInfo | None, received: float) -> events.AuditEvent | None:
        info = request_info(request)
        attrs = attributes_of(user or _NOBODY, info, request.query)
        config = self.policy.evaluate(user, attrs)
        if config.level == "None":
            return None
        return events.AuditEvent(sink=self.backend, config=config, audit_id=request[AUDIT_ID_KEY],
                                 uri=request.raw_path, attrs=attrs, user=user,
                                 ips=events.source_ips(request.headers, request.remote),
                                 agent=events.user_agent(request.headers), method=request.method,
                                 received=received, long_running=long_running(info, request.method))

    @web.middleware
    async def init_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        request[AUDIT_ID_KEY] = request.headers.get("Audit-ID") or new_audit_id()
        received = time.time()
        try:
            return await handler(request)
        except StatusError as err:
            if err.code == 401 and USER_KEY not in request:
                self._failed_authentication(request, received)
            raise

    def _failed_authentication(self, request: web.Request, received: float) -> None:
        ev = self.new_event(request, None, received)
        if ev is None:
            return
        ev.status = {"metadata": {}, "message": _attempted(request), "code": 401}
        ev.emit(STARTED)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        user = request.get(USER_KEY)
        ev = self.new_event(request, user, time.time()) if user is not None else None
        if ev is None:
            return await handler(request)
        request[AUDIT_KEY] = ev
        token = events.CURRENT.set(ev)
        ev.emit(RECEIVED)
        try:
            response = await handler(request)
        except StatusError as err:
            ev.failed(err.to_status())
            self._finish(request, ev)
            raise
        except web.HTTPException as exc:
            ev.code(exc.status)
            self._finish(request, ev)
            raise
        except (asyncio.CancelledError, ConnectionResetError):
            self._finish(request, ev)  # the client went away: the status of what was sent, if anything
            raise
        except Exception as exc:
            ev.user_now = request.get(USER_KEY)
            ev.status = {"metadata": {}, "status": "Failure", "message": f"APIServer panic'd: {exc}",
                         "reason": "InternalError", "code": 500}
            ev.emit(PANIC)
            raise
        else:
            body = response.body if isinstance(response, web.Response) else None
            ev.responded(response.status, body if isinstance(body, bytes) else None, response.content_type)
            self._finish(request, ev)
            return response
        finally:
            events.CURRENT.reset(token)

    @staticmethod
    def _finish(request: web.Request, ev: events.AuditEvent) -> None:
        ev.user_now = request.get(USER_KEY)
        ev.emit(COMPLETE)

    async def on_prepare(self, request: web.Request, response: web.StreamResponse) -> None:
        """Every response: its Audit-Id header; a long-running request's ResponseStarted stage."""
        audit_id = request.get(AUDIT_ID_KEY)
        if audit_id is not None:
            response.headers[HEADER] = audit_id
        ev = request.get(AUDIT_KEY)
        if ev is not None and ev.long_running and ev.status is None:
            ev.code(response.status)
            ev.user_now = request.get(USER_KEY)
            ev.emit(STARTED)

    def close(self) -> None:
        self.backend.close()
