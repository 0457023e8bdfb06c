"""Content negotiation: what the client wants back, and decoding what it sent.

Responses are always JSON; the Accept header only chooses between a plain
object, a meta.k8s.io Table (``as=Table``) and aggregated discovery
(``as=APIGroupDiscoveryList``).  Protobuf is never produced: every client
observed accepts JSON in its list (see kubectl-api.md §1).

Request bodies may be JSON (also when no Content-Type is sent: the Python
client sends none), YAML, or Kubernetes protobuf; PATCH bodies are typed by
their patch media type.  Reading is capped at the configured limit (413).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import orjson
import yaml
from aiohttp import web

from pyk8s.apiserver.audit.event import CURRENT as AUDITED
from pyk8s.machinery import nesting, yamlbody
from pyk8s.machinery.errors import StatusError, bad_request, too_large, unsupported_media_type

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH)
#: How much larger than its body a YAML document may grow once its aliases are expanded.
MAX_EXPANDED_YAML = 3 * 1024 * 1024
#: Distinct Accept / Content-Type strings whose parse is remembered (clients send a handful, on every request).
HEADER_CACHE = 256


@dataclass(frozen=True, slots=True)
class MediaRange:
    type: str
    params: dict[str, str]


def parse_accept(header: str) -> list[MediaRange]:
    out: list[MediaRange] = []
    for part in header.split(","):
        part = part.strip()
        if not part:
            continue
        pieces = [p.strip() for p in part.split(";")]
        params: dict[str, str] = {}
        for p in pieces[1:]:
            key, _, value = p.partition("=")
            params[key.strip().lower()] = value.strip().strip('"')
        if params.get("q") == "0":
            continue
        out.append(MediaRange(pieces[0].lower(), params))
    return out


def _plain(mr: MediaRange) -> bool:
    return mr.type in (JSON, "*/*", "application/*") and "as" not in mr.params


@functools.lru_cache(maxsize=HEADER_CACHE)
def table_version(accept: str) -> str | None:
    """``v1``/``v1beta1`` when the first usable Accept entry asks for a Table, else None (plain JSON)."""
    for mr in parse_accept(accept):
        if mr.params.get("as") == "Table" and mr.params.get("g") == "meta.k8s.io" and mr.type in (JSON, "*/*"):
            if mr.params.get("v") in ("v1", "v1beta1"):
                return mr.params["v"]
        elif _plain(mr):
            return None
    return None


@functools.lru_cache(maxsize=HEADER_CACHE)
def discovery_version(accept: str) -> str | None:
    """``v2``/``v2beta1`` when the client prefers aggregated discovery, else None (legacy)."""
    for mr in parse_accept(accept):
        p = mr.params
        if p.get("as") == "APIGroupDiscoveryList" and p.get("g") == "apidiscovery.k8s.io" and mr.type == JSON:
            if p.get("v") in ("v2", "v2beta1"):
                return p["v"]
        elif _plain(mr):
            return None
    return None


def require_plain(accept: str) -> None:
    """For handlers that can only answer with the object itself (reviews have no Table form): an
    Accept that offers nothing but transformations (``as=Table``, ``as=PartialObjectMetadata``) is
    a 406, as upstream answers when no media type it serves is acceptable."""
    ranges = parse_accept(accept)
    if ranges and all("as" in mr.params for mr in ranges):
        raise StatusError(406, "NotAcceptable", "the server was unable to respond with a content type that the "
                                                "client supports")


_TSPECIALS = set('()<>@,;:\\"/[]?= \t')


def _token(text: str) -> bool:
    return bool(text) and all(32 < ord(c) < 127 and c not in _TSPECIALS for c in text)


@functools.lru_cache(maxsize=HEADER_CACHE)
def parse_media_type(raw: str) -> str:
    """The lower-cased ``type/subtype`` of a Content-Type ("" when none was sent).

    A header that does not parse (``;;;``, ``json``, ``a/b; c``) is a 415, as Go's
    ``mime.ParseMediaType`` failing makes it upstream.  Trailing semicolons are allowed.
    """
    if not raw.strip():
        return ""
    head, *params = raw.split(";")
    mtype, _, subtype = head.strip().lower().partition("/")
    if not (_token(mtype) and _token(subtype)):
        raise unsupported_media_type(raw)
    for i, param in enumerate(params):
        key, eq, _ = param.strip().partition("=")
        if not param.strip() and i == len(params) - 1:
            break
        if not eq or not _token(key.strip()):
            raise unsupported_media_type(raw)
    return f"{mtype}/{subtype}"


def media_type(request: web.Request) -> str:
    return parse_media_type(request.headers.get("Content-Type", ""))


async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole body, refusing more than ``limit`` bytes with a 413 Status."""
    if request.content_length is not None and request.content_length > limit:
        raise too_large(f"limit is {limit}")
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(65536)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise too_large(f"limit is {limit}")
        chunks.append(chunk)
    body = b"".join(chunks)
    if (audited := AUDITED.get()) is not None:  # requestObject of the audit event
        audited.saw_request_body(body, media_type(request))
    return body


def _json(body: bytes) -> Any:
    try:
        return nesting.check_depth(orjson.loads(body))
    except orjson.JSONDecodeError as exc:
        if str(exc).startswith("depth limit exceeded"):
            raise nesting.depth_error(_first_bracket(body)) from None
        raise bad_request(f"error decoding request body: json parse error: {exc}") from None


def _first_bracket(body: bytes) -> str:
    return "[" if body.lstrip()[:1] == b"[" else "{"


def _yaml(body: bytes) -> Any:
    if body.lstrip()[:1] == b"{":  # JSON, as kubectl sends apply patches: a YAML subset, decoded far faster
        try:
            return nesting.check_depth(orjson.loads(body))
        except orjson.JSONDecodeError:
            pass  # flow-style YAML (or too deep): the YAML decoder answers
    try:
        return yamlbody.load(body, len(body) + MAX_EXPANDED_YAML)
    except yaml.YAMLError as exc:
        raise bad_request(f"error decoding request body: yaml: {_yaml_problem(exc)}") from None


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's marked errors are multi-line; keep what a one-line Status can carry."""
    return " ".join(str(exc).split())


def _protobuf(body: bytes) -> Any:
    # The field-number tables live in the api package; make sure they are registered.
    import pyk8s.api.protonumbers  # noqa: F401
    from pyk8s.machinery import protobuf

    try:
        return protobuf.decode_k8s_protobuf(body)
    except StatusError:
        raise
    except (ValueError, KeyError, IndexError, TypeError, RecursionError) as exc:  # a recursive schema nested deep
        raise bad_request(f"error decoding protobuf request body: {exc}") from None


def decode_object(ctype: str, body: bytes) -> dict[str, Any]:
    """A POST/PUT body as a dict (JSON, YAML or protobuf)."""
    if not body.strip():
        raise bad_request("the request body is empty; an object is required")
    if ctype in ("", JSON) or ctype.endswith("+json"):
        obj = _json(body)
    elif ctype in (YAML, "application/x-yaml", "text/yaml"):
        obj = _yaml(body)
    elif ctype == PROTOBUF:
        obj = nesting.check_depth(_protobuf(body))
    else:
        raise unsupported_media_type(ctype)
    if not isinstance(obj, dict):
        raise bad_request("the request body must be a JSON object")
    return obj


def decode_patch(ctype: str, body: bytes) -> Any:
    """(media type already checked) the decoded patch document."""
    if ctype == APPLY_PATCH:
        doc = _yaml(body)
        if not isinstance(doc, dict):
            raise bad_request("the apply patch must be an object")
        return doc
    doc = _json(body) if body.strip() else None
    if ctype == JSON_PATCH:
        if not isinstance(doc, list):
            raise bad_request("the json patch must be a list of operations")
    elif not isinstance(doc, dict):
        raise bad_request("the patch body must be a JSON object")
    return doc


def decode_optional_json(ctype: str, body: bytes) -> dict[str, Any]:
    """DELETE bodies: empty is fine; otherwise a JSON (or YAML/protobuf) object."""
    if not body.strip():
        return {}
    return decode_object(ctype, body)
