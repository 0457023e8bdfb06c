"""Writing JSON responses: objects, Tables, Warning headers.

Every body is JSON (orjson).  ``pretty`` indents, as upstream does for
humans with curl.  Warnings from the stores become ``Warning: 299 - "..."``
headers, which client-go prints as ``Warning: ...``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

import orjson
from aiohttp import web
from multidict import CIMultiDict

JSON_TYPE = "application/json"


def table_content_type(version: str) -> str:
    return f"application/json;as=Table;v={version};g=meta.k8s.io"


def warning_value(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return f'299 - "{escaped}"'


# Upstream's warning recorder: past 4 Ki characters of warnings in one response, each is cut to 256
# characters and those that still do not fit are dropped.
WARNINGS_TOTAL_CHARS = 4 * 1024
WARNING_ITEM_CHARS = 256


def warning_texts(texts: Iterable[str]) -> list[str]:
    """The warnings one response carries, as upstream's recorder keeps them.

    Repeats go; a text holding a control character goes too (upstream refuses to build
    such a header, and a CR or LF in a header would end the response before its body).
    """
    kept = [t for t in dict.fromkeys(texts) if t and not any(unicodedata.category(c) == "Cc" for c in t)]
    if sum(map(len, kept)) < WARNINGS_TOTAL_CHARS:
        return kept
    out: list[str] = []
    total = 0
    for text in (t[:WARNING_ITEM_CHARS] for t in kept):
        if total + len(text) >= WARNINGS_TOTAL_CHARS:
            break
        total += len(text)
        out.append(text)
    return out


def dumps(obj: Any, *, pretty: bool = False) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_INDENT_2 if pretty else 0)


def json_response(obj: Any, *, status: int = 200, content_type: str = JSON_TYPE, warnings: Iterable[str] = (),
                  pretty: bool = False) -> web.Response:
    headers: CIMultiDict[str] = CIMultiDict()
    headers["Content-Type"] = content_type
    for text in warning_texts(warnings):
        headers.add("Warning", warning_value(text))
    return web.Response(status=status, body=dumps(obj, pretty=pretty), headers=headers)


def json_bytes_response(body: bytes, *, status: int = 200) -> web.Response:
    """An answer already encoded as JSON (the same headers ``json_response`` writes)."""
    headers: CIMultiDict[str] = CIMultiDict()
    headers["Content-Type"] = JSON_TYPE
    return web.Response(status=status, body=body, headers=headers)


def is_pretty(request: web.Request) -> bool:
    return request.query.get("pretty", "").lower() in ("true", "1")


# Warnings for a response the handler streams itself (a CONNECT: exec, attach, port-forward, proxy),
# added as the response's headers go out (``add_request_warnings``, an on_response_prepare hook).
REQUEST_WARNINGS = web.RequestKey("pyk8s.request-warnings", list)


async def add_request_warnings(request: web.Request, response: web.StreamResponse) -> None:
    for text in warning_texts(request.get(REQUEST_WARNINGS) or ()):
        response.headers.add("Warning", warning_value(text))
