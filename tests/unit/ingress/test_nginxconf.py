"""nginx rendering: the text's shape, and a rendered configuration that the real ``nginx -t`` accepts."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from pyk8s.ingress.model import CATCH_ALL, Backend, Certificate, Location, Model, Server
from pyk8s.ingress.nginx import NginxError, NginxProcess
from pyk8s.ingress.nginxconf import NginxSettings, render
from pyk8s.testing.selfsigned import self_signed


def sample_model(cert: Certificate | None = None) -> Model:
    web = Backend(upstream="ns_web_80")
    host = Server("b.example.com", tls=cert)
    host.locations = {(True, "/api"): Location("/api", True, Backend(status=503, comment="service ns/api not found"),
                                               "ns/i"),
                      (False, "/api/"): Location("/api/", False, web, "ns/i"),
                      (False, "/"): Location("/", False, web, "ns/i")}
    wild = Server("*.example.com")
    catch_all = Server(CATCH_ALL, fallback=web)
    return Model(servers={"b.example.com": host, "*.example.com": wild, CATCH_ALL: catch_all},
                 upstreams={"ns_web_80": ("10.244.0.5:8080", "10.244.0.6:8080")})


def test_rendered_text_has_upstreams_servers_and_ordered_locations(tmp_path: Path) -> None:
    conf, files = render(sample_model(), NginxSettings(prefix=str(tmp_path), http_port=8080, https_port=8443,
                                                       bind_addresses=("10.0.0.1",)))
    assert "upstream ns_web_80 {\n        server 10.244.0.5:8080 max_fails=0;\n        server 10.244.0.6:8080" in conf
    host = conf[conf.index("server_name b.example.com;"):]
    host = host[:host.index("\n    }")]
    # Longest first (nginx itself picks the longest prefix; the order keeps the file readable).
    assert host.index('location ^~ "/api/"') < host.index('location = "/api"') < host.index('location ^~ "/"')
    assert "return 503;  # service ns/api not found" in host
    assert "listen 10.0.0.1:8080 default_server;" in conf  # the catch-all server comes first
    assert '~^[^.]+\\.example\\.com$' in conf
    assert "ssl_reject_handshake on;" in conf and "listen 10.0.0.1:8443 ssl http2 default_server;" in conf
    assert files == {}


def test_a_tls_host_listens_on_https_with_its_certificate_and_redirects_http(tmp_path: Path) -> None:
    cert = Certificate("ns-tls-0123", b"PEM")
    conf, files = render(sample_model(cert), NginxSettings(prefix=str(tmp_path)))
    assert files == {"certs/ns-tls-0123.pem": b"PEM"}
    assert "ssl_certificate certs/ns-tls-0123.pem;" in conf
    assert "if ($scheme = http) { return 308 https://$host$request_uri; }" in conf


@pytest.mark.skipif(shutil.which("nginx", path="/usr/sbin:/usr/bin") is None, reason="nginx is not installed")
def test_nginx_accepts_what_is_rendered_and_refuses_garbage(tmp_path: Path) -> None:
    cert_pem, key_pem = self_signed("b.example.com")
    cert = Certificate("ns-tls-0123", cert_pem + key_pem)
    conf, files = render(sample_model(cert), NginxSettings(prefix=str(tmp_path), http_port=18080, https_port=18443))
    nginx = NginxProcess(tmp_path)
    nginx.prepare()
    nginx.write_files(files)
    (tmp_path / "candidate.conf").write_text(conf)
    assert asyncio.run(nginx.test(tmp_path / "candidate.conf")) == ""
    (tmp_path / "bad.conf").write_text(conf.replace("proxy_pass", "proxy_pas"))
    assert "unknown directive" in asyncio.run(nginx.test(tmp_path / "bad.conf"))
    with pytest.raises(NginxError, match="nginx -t refused"):
        asyncio.run(nginx.apply("events {}\nhttp { nonsense; }\n", {}))
    assert not nginx.alive()
