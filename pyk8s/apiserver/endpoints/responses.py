"""Writing JSON responses: objects, Tables, Warning headers.

Every body is JSON (orjson).  ``pretty`` indents, as upstream does for
humans with curl.  Warnings from the stores become ``Warning: 299 - "..."``
headers, which client-go prints as ``Warning: ...``.
"""

from __future__ import annotations

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


def dumps(obj: Any, *, pretty: bool = False) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_INDENT_2 if pretty else 0)


def json_response(obj: Any, *, status: int = 200, content_type: str = JSON_TYPE, warnings: Iterable[str] = (),
                  pretty: bool = False) -> web.Response:
    headers: CIMultiDict[str] = CIMultiDict()
    headers["Content-Type"] = content_type
    for text in dict.fromkeys(warnings):
        headers.add("Warning", warning_value(text))
    return web.Response(status=status, body=dumps(obj, pretty=pretty), headers=headers)


def is_pretty(request: web.Request) -> bool:
    return request.query.get("pretty", "").lower() in ("true", "1")
