"""Links of HTML pages served through a proxy subresource stay behind the proxy, the rest is untouched."""

from __future__ import annotations

import gzip

from pyk8s.apiserver.endpoints import proxyhtml

PREFIX = "/api/v1/namespaces/x/pods/web/proxy"
HOSTS = ("10.1.0.4:80", "10.1.0.4", "apiserver:6443")


def rewrite(page: str) -> str:
    return proxyhtml.rewrite_page(page.encode(), "utf-8", PREFIX, HOSTS).decode()


def test_absolute_paths_on_the_backend_move_under_the_proxy() -> None:
    page = ('<html><head><link rel="stylesheet" href="/css/a.css"></head>\n'
            "<body><a href='/about/'>About</a> <img alt=x src=/img.png>"
            '<a href="http://10.1.0.4:80/deep?q=1#f">deep</a><form action="/post"></form></body></html>')
    assert rewrite(page) == (
        f'<html><head><link rel="stylesheet" href="{PREFIX}/css/a.css"></head>\n'
        f"<body><a href='{PREFIX}/about/'>About</a> <img alt=x src=\"{PREFIX}/img.png\">"
        f'<a href="{PREFIX}/deep?q=1#f">deep</a><form action="{PREFIX}/post"></form></body></html>')


def test_other_links_and_everything_else_stay_as_they_are() -> None:
    page = ('<!DOCTYPE html><!-- <a href="/in-comment"> --><a href="http://nginx.org/">nginx.org</a>'
            '<a href="relative.html">r</a><a title="/not-a-link" href="#top">t</a>'
            '<script>var s = "<a href=\\"/in-script\\">";</script>'
            f'<a href="{PREFIX}/already">a</a><p data-x="/x">&amp; caf\u00e9</p>')
    assert rewrite(page) == page


def test_encoded_pages_round_trip() -> None:
    body = gzip.compress(b'<a href="/x">x</a>')
    plain = proxyhtml.decode(body, "gzip")
    assert plain is not None
    page = proxyhtml.rewrite_page(plain, "", PREFIX, HOSTS)
    assert gzip.decompress(proxyhtml.encode(page, "gzip")) == f'<a href="{PREFIX}/x">x</a>'.encode()
    assert proxyhtml.decode(b"x", "br") is None
