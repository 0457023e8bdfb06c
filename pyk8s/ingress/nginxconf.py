"""Render the routing model as an nginx configuration (pure: text and certificate files out).

The shape follows ingress-nginx's template, cut to what the model holds:
one ``upstream`` per Service port with the ready pod IPs (keepalive to the
pods), one ``server`` per host (exact names, wildcards as a one-label
regex), ``location = /p`` for exact matches and ``location /p/`` for
element-wise prefixes (nginx picks the longest prefix, which is the Ingress
rule), 503/404 answered by nginx itself.  HTTPS servers carry their
certificate (SNI); the default HTTPS server rejects handshakes for unknown
names (``ssl_reject_handshake``) instead of serving a fake certificate.
Headers to the pods are ingress-nginx's (Host, X-Real-IP,
X-Forwarded-For/-Host/-Port/-Proto, X-Request-ID, upgrade for WebSockets).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyk8s.ingress.model import CATCH_ALL, Backend, Model, Server, server_name

CERT_DIR = "certs"
TEMP_DIR = "tmp"


@dataclass(frozen=True)
class NginxSettings:
    prefix: str  # nginx's -p: pid, logs, temp files and certificates live here
    http_port: int = 80
    https_port: int = 443
    bind_addresses: tuple[str, ...] = ()  # empty: every address
    worker_processes: str = "auto"
    user: str = ""  # "nobody nogroup" when started as root
    temp_dir: str = TEMP_DIR  # where the workers buffer bodies (they must be able to write there)
    access_log: bool = False


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _listen(settings: NginxSettings, port: int, extra: str) -> list[str]:
    addresses = settings.bind_addresses or ("",)
    out = []
    for addr in addresses:
        where = f"[{addr}]:{port}" if ":" in addr else (f"{addr}:{port}" if addr else str(port))
        out.append(f"        listen {where}{extra};")
    return out


def _backend(backend: Backend, indent: str) -> list[str]:
    if backend.upstream:
        return [f"{indent}proxy_pass http://{backend.upstream};"]
    note = f"  # {backend.comment}" if backend.comment else ""
    return [f"{indent}return {backend.status};{note}"]


def _locations(server: Server) -> list[str]:
    out: list[str] = []
    has_root = False
    for loc in server.sorted_locations():
        has_root = has_root or (not loc.exact and loc.path == "/")
        out.append(f"        # {loc.source}")
        out.append(f"        location {'= ' if loc.exact else '^~ '}{_quote(loc.path)} {{")
        out += _backend(loc.backend, "            ")
        out.append("        }")
    if not has_root:
        out.append("        location / {")
        out += _backend(server.fallback, "            ")
        out.append("        }")
    return out


def _server(server: Server, settings: NginxSettings) -> list[str]:
    default = server.host == CATCH_ALL
    out = ["    server {"]
    out += _listen(settings, settings.http_port, " default_server" if default else "")
    if server.tls is not None:
        out += _listen(settings, settings.https_port, " ssl http2")
        out.append(f"        ssl_certificate {CERT_DIR}/{server.tls.name}.pem;")
        out.append(f"        ssl_certificate_key {CERT_DIR}/{server.tls.name}.pem;")
        port = "" if settings.https_port == 443 else f":{settings.https_port}"
        out.append(f"        if ($scheme = http) {{ return 308 https://$host{port}$request_uri; }}")
    out.append(f"        server_name {server_name(server.host)};")
    out += _locations(server)
    out.append("    }")
    return out


def _default_https(settings: NginxSettings) -> list[str]:
    out = ["    server {"]
    out += _listen(settings, settings.https_port, " ssl http2 default_server")
    out += ["        server_name _;", "        ssl_reject_handshake on;", "        return 404;", "    }"]
    return out


def _upstreams(model: Model) -> list[str]:
    out: list[str] = []
    for name in sorted(model.upstreams):
        out.append(f"    upstream {name} {{")
        out += [f"        server {addr} max_fails=0;" for addr in model.upstreams[name]]
        out += ["        keepalive 32;", "    }"]
    return out


def _head(settings: NginxSettings) -> list[str]:
    user = [f"user {settings.user};"] if settings.user else []
    temp = [f"    {kind}_temp_path {settings.temp_dir}/{kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")]
    access = "    access_log logs/access.log;" if settings.access_log else "    access_log off;"
    return [*user,
            "daemon off;",
            "master_process on;",
            f"worker_processes {settings.worker_processes};",
            "worker_shutdown_timeout 240s;",
            "pid nginx.pid;",
            "error_log logs/error.log notice;",
            "events {", "    worker_connections 16384;", "    multi_accept on;", "}",
            "http {",
            access, *temp,
            "    default_type text/html;",
            "    server_tokens off;",
            "    server_names_hash_max_size 4096;",
            "    server_names_hash_bucket_size 128;",
            "    client_max_body_size 1m;",
            "    keepalive_timeout 75s;",
            "    keepalive_requests 1000;",
            "    ssl_protocols TLSv1.2 TLSv1.3;",
            "    ssl_session_cache shared:SSL:10m;",
            "    map $http_upgrade $connection_upgrade { default upgrade; '' ''; }",
            "    map $http_host $best_http_host { default $http_host; '' $host; }",
            "    proxy_http_version 1.1;",
            "    proxy_set_header Host $best_http_host;",
            "    proxy_set_header Upgrade $http_upgrade;",
            "    proxy_set_header Connection $connection_upgrade;",
            "    proxy_set_header X-Request-ID $request_id;",
            "    proxy_set_header X-Real-IP $remote_addr;",
            "    proxy_set_header X-Forwarded-For $remote_addr;",
            "    proxy_set_header X-Forwarded-Host $best_http_host;",
            "    proxy_set_header X-Forwarded-Port $server_port;",
            "    proxy_set_header X-Forwarded-Proto $scheme;",
            "    proxy_connect_timeout 5s;",
            "    proxy_send_timeout 60s;",
            "    proxy_read_timeout 60s;",
            "    proxy_buffering off;",
            "    proxy_next_upstream error timeout;",
            "    proxy_next_upstream_tries 3;"]


def render(model: Model, settings: NginxSettings) -> tuple[str, dict[str, bytes]]:
    """``(nginx.conf text, {relative path: content})``; paths are relative to ``settings.prefix``."""
    lines = _head(settings)
    lines += _upstreams(model)
    servers = sorted(model.servers.values(), key=lambda s: (s.host != CATCH_ALL, s.host))
    for server in servers:
        lines += _server(server, settings)
    lines += _default_https(settings)
    lines.append("}")
    files = {f"{CERT_DIR}/{s.tls.name}.pem": s.tls.pem for s in servers if s.tls is not None}
    return "\n".join(lines) + "\n", files
