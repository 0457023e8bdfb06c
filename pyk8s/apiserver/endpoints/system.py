"""``/version`` and the health endpoints (``/healthz``, ``/livez``, ``/readyz``).

``Readiness`` is a set of named checks, each an ``asyncio.Event`` that the
server assembly sets when its piece is up (storage open, bootstrap done,
watch caches primed).  ``/readyz`` is 200 only when every check passed;
``/healthz`` and ``/livez`` answer 200 while the process serves at all.
``?verbose`` lists the checks the way upstream does; ``?exclude=name``
skips one; ``/readyz/<name>`` asks about one check.
"""

from __future__ import annotations

import asyncio
import platform

from aiohttp import web

VERSION_INFO = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.23",
    "compiler": "gc",
    "platform": f"linux/{'arm64' if platform.machine() in ('aarch64', 'arm64') else 'amd64'}",
}


class Readiness:
    def __init__(self, names: tuple[str, ...] = ()) -> None:
        self._checks: dict[str, asyncio.Event] = {}
        for name in names:
            self.add(name)

    def add(self, name: str) -> asyncio.Event:
        return self._checks.setdefault(name, asyncio.Event())

    def mark(self, name: str) -> None:
        self.add(name).set()

    def checks(self) -> dict[str, bool]:
        return {name: ev.is_set() for name, ev in self._checks.items()}

    @property
    def ready(self) -> bool:
        return all(self.checks().values())


def version(request: web.Request) -> web.Response:
    return web.json_response(VERSION_INFO)


def health(request: web.Request, kind: str, readiness: Readiness, *, only: str = "") -> web.Response:
    """``/<kind>`` runs every check; ``/<kind>/<check>`` just that one (404 if unknown)."""
    checks: dict[str, bool] = {"ping": True, "log": True}
    if kind == "readyz":
        checks.update(readiness.checks())
    if only:
        if only not in checks:
            raise web.HTTPNotFound()
        checks = {only: checks[only]}
    excluded = set(request.query.getall("exclude", []))
    checks = {k: v for k, v in checks.items() if k not in excluded}
    ok = all(checks.values())
    if "verbose" not in request.query and ok:
        return web.Response(text="ok", content_type="text/plain")
    lines = [f"[+]{name} ok" if passed else f"[-]{name} failed: reason withheld" for name, passed in checks.items()]
    lines.append(f"{kind} check passed" if ok else f"{kind} check failed")
    return web.Response(status=200 if ok else 500, text="\n".join(lines) + "\n", content_type="text/plain")
