"""What goes into each offline image: Debian packages, then the files that make them behave like the real ones.

A recipe names the Debian packages it wants and an ``assemble`` step that
turns their files (path -> layer entry) into an image: users, configuration,
symlinks the maintainer scripts would have made, and the label
``io.pyk8s.image.source`` saying what the image really holds.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from pyk8s.kubelet.images import catalog, oci, tools
from pyk8s.kubelet.images.debian import Package

SOURCE_LABEL = "io.pyk8s.image.source"
Files = dict[str, oci.LayerEntry]

# Not wanted in any image: gconv modules and locale sources are 10 MB of libc6 that none of these tools use
# (the compiled C.utf8 locale stays).
LIBC_EXTRAS = ("usr/lib/x86_64-linux-gnu/gconv/", "usr/share/i18n/")

# update-alternatives links the maintainer scripts would have made: link -> target (relative).
ALTERNATIVES = {"usr/bin/awk": "mawk", "usr/bin/which": "which.debianutils", "usr/bin/pager": "more"}

BASE_TOOLS = ["base-files", "bash", "dash", "coreutils", "grep", "sed", "findutils", "gzip", "tar", "hostname",
              "mawk", "debianutils", "ncurses-base", "libc-bin"]


@dataclass(frozen=True)
class Recipe:
    name: str
    packages: tuple[str, ...]
    assemble: Callable[[Files, list[Package], pathlib.Path], oci.ImageSpec]
    exclude: tuple[str, ...] = ()  # Debian packages left out with their dependencies
    drop: tuple[str, ...] = LIBC_EXTRAS  # path prefixes left out


def _version(packages: list[Package], name: str) -> str:
    return next(p.version for p in packages if p.name == name)


def _source(packages: list[Package], main: str, extra: str = "") -> dict[str, str]:
    text = f"debian {main} {_version(packages, main)} (bookworm, glibc {_version(packages, 'libc6')})"
    return {SOURCE_LABEL: text + (f"; {extra}" if extra else "")}


def _file(files: Files, path: str, data: bytes | str, mode: int = 0o644) -> None:
    files[path] = oci.LayerEntry(path, data=data.encode() if isinstance(data, str) else data, mode=mode)


def _dir(files: Files, path: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> None:
    files[path] = oci.LayerEntry(path, kind="dir", mode=mode, uid=uid, gid=gid)


def _link(files: Files, path: str, target: str) -> None:
    files[path] = oci.LayerEntry(path, kind="symlink", target=target)


def _system(files: Files, users: str = "", groups: str = "") -> None:
    """The /etc, /tmp and /run a Debian image has, the parts that come from maintainer scripts included."""
    _file(files, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
          "bin:x:2:2:bin:/bin:/usr/sbin/nologin\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n"
          + users + "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
    _file(files, "etc/group", "root:x:0:\ndaemon:x:1:\nbin:x:2:\ntty:x:5:\nwww-data:x:33:\n" + groups
          + "nogroup:x:65534:\n")
    _file(files, "etc/nsswitch.conf", "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n"
          "networks: files\nprotocols: files\nservices: files\n")
    _file(files, "etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
    for path in ("tmp", "var/tmp"):
        _dir(files, path, 0o1777)
    _dir(files, "root", 0o700)
    for path in ("run", "var/log", "proc", "sys", "dev", "etc/ssl", "home"):
        files.setdefault(path, oci.LayerEntry(path, kind="dir"))
    if not any(path == "var/run" or path.startswith("var/run/") for path in files):
        _link(files, "var/run", "/run")
    for link, target in ALTERNATIVES.items():
        if f"usr/bin/{target}" in files and link not in files:
            _link(files, link, target)


def _spec(name: str, files: Files, **kwargs: object) -> oci.ImageSpec:
    oci_entries = sorted(files.values(), key=lambda e: e.path)
    return oci.ImageSpec(name=name, refs=list(catalog.IMAGES[name]), entries=oci_entries, **kwargs)  # type: ignore[arg-type]


# -- busybox ---------------------------------------------------------------------------------------------


def _applets(binary: bytes, workdir: pathlib.Path) -> list[str]:
    path = workdir / "busybox"
    path.write_bytes(binary)
    os.chmod(path, 0o755)
    out = subprocess.run([str(path), "--list"], check=True, capture_output=True, text=True).stdout
    return sorted({a.strip() for a in out.split() if a.strip() and a.strip() != "busybox"})


def assemble_busybox(files: Files, packages: list[Package], workdir: pathlib.Path) -> oci.ImageSpec:
    binary = files["usr/bin/busybox"].data
    assert binary is not None
    for applet in _applets(binary, workdir):
        files.setdefault(f"usr/bin/{applet}", oci.LayerEntry(f"usr/bin/{applet}", kind="symlink", target="busybox"))
    _file(files, "usr/bin/nslookup", tools.compile_c(tools.NSLOOKUP_C, workdir / "nslookup"), 0o755)
    _file(files, "usr/bin/wget", tools.WGET_SH, 0o755)
    _system(files)
    extra = "nslookup: pyk8s getaddrinfo lookup printing as busybox 1.28.4; wget: busybox under a -T/--timeout wrapper"
    return _spec("busybox", files, cmd=["sh"], labels=_source(packages, "busybox", extra))


# -- nginx -----------------------------------------------------------------------------------------------

NGINX_CONF = """user  nginx;
worker_processes  auto;

error_log  /var/log/nginx/error.log notice;
pid        /var/run/nginx.pid;


events {
    worker_connections  1024;
}


http {
    include       /etc/nginx/mime.types;
    default_type  application/octet-stream;

    log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';

    access_log  /var/log/nginx/access.log  main;

    sendfile        on;

    keepalive_timeout  65;

    include /etc/nginx/conf.d/*.conf;
}
"""

DEFAULT_CONF = """server {
    listen       80;
    server_name  localhost;

    location / {
        root   /usr/share/nginx/html;
        index  index.html index.htm;
    }

    error_page   500 502 503 504  /50x.html;
    location = /50x.html {
        root   /usr/share/nginx/html;
    }
}
"""

INDEX_HTML = """<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href="http://nginx.org/">nginx.org</a>.<br/>
Commercial support is available at
<a href="http://nginx.com/">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
"""

ERROR_HTML = """<!DOCTYPE html>
<html>
<head>
<title>Error</title>
</head>
<body>
<h1>An error occurred.</h1>
<p>Sorry, the page you are looking for is currently unavailable.<br/>
Please try again later.</p>
</body>
</html>
"""

NGINX_DEBIAN_ONLY = ("etc/nginx/sites-available/", "etc/nginx/sites-enabled/", "etc/nginx/snippets/",
                     "etc/nginx/modules-available/", "etc/nginx/modules-enabled/", "etc/default/",
                     "usr/share/nginx/html/index-debian.html")


def assemble_nginx(files: Files, packages: list[Package], workdir: pathlib.Path) -> oci.ImageSpec:
    _system(files, users="nginx:x:101:101:nginx user:/nonexistent:/bin/false\n", groups="nginx:x:101:\n")
    _file(files, "etc/nginx/nginx.conf", NGINX_CONF)
    _file(files, "etc/nginx/conf.d/default.conf", DEFAULT_CONF)
    _file(files, "usr/share/nginx/html/index.html", INDEX_HTML)
    _file(files, "usr/share/nginx/html/50x.html", ERROR_HTML)
    # Logs to the container's stdout and stderr, as the official image links them.
    _link(files, "var/log/nginx/access.log", "/dev/stdout")
    _link(files, "var/log/nginx/error.log", "/dev/stderr")
    _dir(files, "var/cache/nginx")
    _dir(files, "var/lib/nginx")
    _dir(files, "docker-entrypoint.d")
    version = _version(packages, "nginx")
    return _spec(
        "nginx", files, cmd=["nginx", "-g", "daemon off;"], exposed_ports=["80/tcp"], stop_signal="SIGQUIT",
        env=["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             f"NGINX_VERSION={version.split('-')[0]}"],
        labels=_source(packages, "nginx", "with bash, coreutils and curl"),
    )


# -- myapp: the demo app of many Kubernetes tutorials (ikubernetes/myapp), nginx with a versioned page ------

MYAPP_CONF = """server {
    listen       80;
    server_name  localhost;

    location / {
        root   /usr/share/nginx/html;
        index  index.html index.htm;
    }

    location = /hostname.html {
        alias /etc/hostname;
    }
}
"""


def assemble_myapp(version: str) -> Callable[[Files, list[Package], pathlib.Path], oci.ImageSpec]:
    def assemble(files: Files, packages: list[Package], workdir: pathlib.Path) -> oci.ImageSpec:
        nginx = assemble_nginx(files, packages, workdir)  # the same bytes as the nginx image's layer: shared
        page = f'Hello MyApp | Version: {version} | <a href="hostname.html">Pod Name</a>\n'
        top = [oci.LayerEntry("usr/share/nginx/html/index.html", data=page.encode(), mode=0o644),
               oci.LayerEntry("etc/nginx/conf.d/default.conf", data=MYAPP_CONF.encode(), mode=0o644)]
        extra = f"myapp {version}: a page naming the version, /hostname.html the pod"
        labels = _source(packages, "nginx", extra)
        return oci.ImageSpec(name=f"myapp-{version}", refs=list(catalog.IMAGES[f"myapp-{version}"]),
                             entries=nginx.entries, upper_layers=[top], cmd=nginx.cmd, env=nginx.env,
                             exposed_ports=nginx.exposed_ports, stop_signal=nginx.stop_signal, labels=labels)

    return assemble


# -- dnsutils --------------------------------------------------------------------------------------------


def assemble_dnsutils(files: Files, packages: list[Package], workdir: pathlib.Path) -> oci.ImageSpec:
    _system(files)
    return _spec("dnsutils", files, cmd=["sleep", "infinity"],
                 labels=_source(packages, "bind9-dnsutils", "dig, nslookup, host, with bash and coreutils"))


# -- perl -----------------------------------------------------------------------------------------------


def assemble_perl(files: Files, packages: list[Package], workdir: pathlib.Path) -> oci.ImageSpec:
    _system(files)
    version = _version(packages, "perl").split("-")[0]
    return _spec("perl", files, cmd=["perl", "-de0"], env=[
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", f"PERL_VERSION={version}"],
        labels=_source(packages, "perl", f"core modules, Math::BigInt {_version(packages, 'libmath-bigint-perl')}, "
                       "with bash and coreutils"))


# -- pause -----------------------------------------------------------------------------------------------


def assemble_pause(files: Files, packages: list[Package], workdir: pathlib.Path) -> oci.ImageSpec:
    if tools.gcc_available():
        _file(files, "pause", tools.compile_c(tools.PAUSE_C, workdir / "pause", static=True), 0o755)
        source = "pyk8s pause (static C: sleeps until SIGTERM/SIGINT, reaps children)"
    else:  # busybox with a SIGTERM trap (PID 1 ignores SIGTERM without a handler)
        busybox = shutil.which("busybox") or "/bin/busybox"
        _dir(files, "bin")
        files["bin/busybox"] = oci.LayerEntry("bin/busybox", source=busybox)
        _file(files, "pause", "#!/bin/busybox sh\ntrap 'exit 0' TERM INT\n"
              "while :; do /bin/busybox sleep 3600 & wait $!; done\n", 0o755)
        source = "pyk8s pause (host busybox-static with a SIGTERM trap; gcc was missing)"
    return _spec("pause", files, entrypoint=["/pause"], env=[], labels={SOURCE_LABEL: source})


RECIPES: dict[str, Recipe] = {
    "busybox": Recipe("busybox", ("busybox",), assemble_busybox),
    "nginx": Recipe("nginx", ("nginx", "curl", *BASE_TOOLS), assemble_nginx, exclude=("iproute2",),
                    drop=LIBC_EXTRAS + NGINX_DEBIAN_ONLY),
    **{f"myapp-{v}": Recipe(f"myapp-{v}", ("nginx", "curl", *BASE_TOOLS), assemble_myapp(v), exclude=("iproute2",),
                            drop=LIBC_EXTRAS + NGINX_DEBIAN_ONLY) for v in ("v1", "v2", "v3")},
    "dnsutils": Recipe("dnsutils", ("bind9-dnsutils", "bind9-host", *BASE_TOOLS), assemble_dnsutils),
    # Math::BigInt from libmath-bigint-perl: the one in perl 5.36's core dies in bpi(2000), the docs' Job example.
    "perl": Recipe("perl", ("perl", "perl-base", "libmath-bigint-perl", *BASE_TOOLS), assemble_perl),
    "pause": Recipe("pause", (), assemble_pause),
}
