"""Links in HTML pages served through a proxy subresource, rewritten to stay behind the proxy.

Upstream's proxy transport rewrites, in ``text/html`` answers, the URL
attributes of the elements that carry one (``a href``, ``img src``, ``form
action``... the table below): an absolute path on the backend's own host
becomes the same path under the proxy prefix, so a page served at
``/api/v1/namespaces/x/pods/web/proxy/`` that links ``/about`` links
``/api/v1/namespaces/x/pods/web/proxy/about``.  Relative links and links to
other hosts stay as they are.  A gzip- or deflate-encoded page is decoded,
rewritten and encoded again.

Only start tags are touched, and only the attributes rewritten in them: the
rest of the page is passed on byte for byte (upstream re-renders the whole
document; the links come out the same).
"""

from __future__ import annotations

import codecs
import gzip
import html
import posixpath
import re
import urllib.parse
import zlib
from html.parser import HTMLParser

ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "a": ("href",), "applet": ("codebase",), "area": ("href",), "audio": ("src",), "base": ("href",),
    "blockquote": ("cite",), "body": ("background",), "button": ("formaction",), "command": ("icon",),
    "del": ("cite",), "embed": ("src",), "form": ("action",), "frame": ("longdesc", "src"), "head": ("profile",),
    "html": ("manifest",), "iframe": ("longdesc", "src"), "img": ("longdesc", "src", "usemap"),
    "input": ("src", "usemap", "formaction"), "ins": ("cite",), "link": ("href",),
    "object": ("classid", "codebase", "data", "usemap"), "q": ("cite",), "script": ("src",), "source": ("src",),
    "video": ("poster", "src"),
}
_ATTR = re.compile(r"""(?P<name>[^\s"'>/=]+)(?P<eq>\s*=\s*)(?P<value>"[^"]*"|'[^']*'|[^\s"'=<>`]+)""")


def rewrite_url(value: str, prefix: str, backend_hosts: tuple[str, ...]) -> str:
    """A link under ``prefix`` if it is an absolute path on the backend's host (upstream's rewriteURL)."""
    parts = urllib.parse.urlsplit(value)
    if (parts.netloc and parts.netloc not in backend_hosts) or not parts.path.startswith("/"):
        return value
    if parts.path.startswith(prefix):
        return urllib.parse.urlunsplit(("", "", parts.path, parts.query, parts.fragment))
    joined = posixpath.join(prefix, parts.path.lstrip("/"))
    if parts.path.endswith("/") and not joined.endswith("/"):
        joined += "/"
    return urllib.parse.urlunsplit(("", "", joined, parts.query, parts.fragment))


def _rewrite_tag(raw: str, wanted: tuple[str, ...], prefix: str, hosts: tuple[str, ...]) -> str:
    def one(m: re.Match[str]) -> str:
        if m["name"].lower() not in wanted:
            return m.group(0)
        quoted = m["value"]
        quote = quoted[0] if quoted[0] in "\"'" else ""
        value = html.unescape(quoted[1:-1] if quote else quoted)
        new = rewrite_url(value, prefix, hosts)
        if new == value:
            return m.group(0)
        q = quote or '"'
        return f"{m['name']}{m['eq']}{q}{html.escape(new, quote=True)}{q}"

    name_end = len(raw.split(None, 1)[0]) if raw.split(None, 1) else 0
    return raw[:name_end] + _ATTR.sub(one, raw[name_end:])


class _Rewriter(HTMLParser):
    def __init__(self, text: str, prefix: str, hosts: tuple[str, ...]) -> None:
        super().__init__(convert_charrefs=False)
        self.text, self.prefix, self.hosts = text, prefix, hosts
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.edits: list[tuple[int, int, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = ATTRIBUTES.get(tag)
        raw = self.get_starttag_text()
        if not wanted or raw is None or not any(k in wanted for k, _ in attrs):
            return
        line, col = self.getpos()
        start = self.line_starts[line - 1] + col
        new = _rewrite_tag(raw, wanted, self.prefix, self.hosts)
        if new != raw and self.text.startswith(raw, start):
            self.edits.append((start, start + len(raw), new))

    handle_startendtag = handle_starttag

    def rewritten(self) -> str:
        self.feed(self.text)
        self.close()
        out, at = [], 0
        for start, end, new in self.edits:
            out += [self.text[at:start], new]
            at = end
        return "".join(out) + self.text[at:]


def rewrite_page(body: bytes, charset: str, prefix: str, backend_hosts: tuple[str, ...]) -> bytes:
    try:
        codec = codecs.lookup(charset or "utf-8").name
    except LookupError:
        codec = "utf-8"
    text = body.decode(codec, errors="surrogateescape")
    return _Rewriter(text, prefix, backend_hosts).rewritten().encode(codec, errors="surrogateescape")


def decode(body: bytes, encoding: str) -> bytes | None:
    """The page's bytes without its Content-Encoding (None: an encoding this does not undo)."""
    if not encoding or encoding == "identity":
        return body
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    return None


def encode(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.compress(body)
    if encoding == "deflate":
        return zlib.compress(body)
    return body
