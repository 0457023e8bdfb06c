"""The offline test images: busybox, pause and nginx, made from Debian's binaries.

* ``docker.io/library/busybox:1.36`` (and ``:latest``): Debian's static busybox
  at /bin/busybox with one symlink per applet, plus a minimal /etc.
* ``registry.k8s.io/pause:3.9`` (pyk8s's sandbox image): a tiny static C
  program compiled with ``gcc -static`` that sleeps until SIGTERM/SIGINT and
  reaps children; if gcc is missing, busybox running a trap loop instead.
* ``docker.io/library/nginx:1.24`` (and ``:latest``): Debian's nginx-light
  binary, the shared libraries ``ldd`` lists, and a config serving a default
  page on :80 with logs to stdout/stderr.

``build_images(out_dir)`` writes one OCI layout and one archive per image and
skips work whose archive already exists (so a test session builds once).
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import tempfile

from pyk8s.kubelet.images import oci

BUSYBOX = "docker.io/library/busybox"
NGINX = "docker.io/library/nginx"
PAUSE = "registry.k8s.io/pause"
PAUSE_TAG = "3.9"
PAUSE_REF = f"{PAUSE}:{PAUSE_TAG}"
BUSYBOX_REF = f"{BUSYBOX}:1.36"
NGINX_REF = f"{NGINX}:1.24"

_ETC = {
    "etc/passwd": b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    "etc/group": b"root:x:0:\nnogroup:x:65534:\n",
    "etc/hosts": b"127.0.0.1 localhost\n",
    "etc/nsswitch.conf": b"passwd: files\ngroup: files\nhosts: files dns\n",
}

_PAUSE_C = r"""
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
static void stop(int s) { (void)s; _exit(0); }
static void reap(int s) { (void)s; while (waitpid(-1, 0, WNOHANG) > 0) {} }
int main(void) {
    signal(SIGTERM, stop); signal(SIGINT, stop); signal(SIGCHLD, reap);
    for (;;) pause();
}
"""


def _base_entries() -> list[oci.LayerEntry]:
    dirs = ["bin", "etc", "tmp", "root", "var", "proc", "sys", "dev", "usr", "usr/bin", "usr/sbin", "sbin"]
    entries = [oci.LayerEntry(d, kind="dir", mode=0o1777 if d == "tmp" else 0o755) for d in dirs]
    entries += [oci.LayerEntry(p, data=data, mode=0o644) for p, data in _ETC.items()]
    return entries


def busybox_applets(binary: str = "/bin/busybox") -> list[str]:
    out = subprocess.run([binary, "--list"], check=True, capture_output=True, text=True).stdout
    return sorted({a.strip() for a in out.split() if a.strip() and a.strip() != "busybox"})


def busybox_spec(binary: str = "/bin/busybox") -> oci.ImageSpec:
    entries = _base_entries() + [oci.LayerEntry("bin/busybox", source=binary)]
    entries += [oci.LayerEntry(f"bin/{a}", kind="symlink", target="busybox") for a in busybox_applets(binary)]
    return oci.ImageSpec(name=BUSYBOX, tags=["1.36", "latest"], entries=entries, cmd=["sh"])


def _compile_pause(workdir: pathlib.Path) -> pathlib.Path | None:
    gcc = shutil.which("gcc")
    if gcc is None:
        return None
    src, out = workdir / "pause.c", workdir / "pause"
    src.write_text(_PAUSE_C)
    proc = subprocess.run([gcc, "-static", "-Os", "-s", "-o", str(out), str(src)], capture_output=True)
    return out if proc.returncode == 0 else None


def pause_spec(workdir: pathlib.Path, busybox: str = "/bin/busybox") -> oci.ImageSpec:
    binary = _compile_pause(workdir)
    if binary is not None:
        entries = [oci.LayerEntry("pause", data=binary.read_bytes())]
        return oci.ImageSpec(name=PAUSE, tags=[PAUSE_TAG], entries=entries, entrypoint=["/pause"], env=[])
    # Fallback: busybox with a SIGTERM trap (PID 1 ignores SIGTERM without a handler).
    script = b"#!/bin/busybox sh\ntrap 'exit 0' TERM INT\nwhile :; do /bin/busybox sleep 3600 & wait $!; done\n"
    entries = [oci.LayerEntry("bin", kind="dir"), oci.LayerEntry("bin/busybox", source=busybox)]
    entries.append(oci.LayerEntry("pause", data=script))
    return oci.ImageSpec(name=PAUSE, tags=[PAUSE_TAG], entries=entries, entrypoint=["/pause"], env=[])


_NGINX_CONF = b"""user root;
worker_processes 1;
daemon off;
pid /run/nginx.pid;
error_log /dev/stderr warn;
events { worker_connections 256; }
http {
    default_type text/html;
    access_log /dev/stdout;
    client_body_temp_path /tmp/nginx-body;
    proxy_temp_path /tmp/nginx-proxy;
    fastcgi_temp_path /tmp/nginx-fastcgi;
    uwsgi_temp_path /tmp/nginx-uwsgi;
    scgi_temp_path /tmp/nginx-scgi;
    server {
        listen 80 default_server;
        root /usr/share/nginx/html;
        index index.html;
    }
}
"""

_NGINX_INDEX = b"<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title></head>\n<body><h1>Welcome to nginx!</h1></body></html>\n"


def _shared_libraries(binary: str) -> list[str]:
    out = subprocess.run(["ldd", binary], check=True, capture_output=True, text=True).stdout
    libs: list[str] = []
    for line in out.splitlines():
        parts = line.split()
        path = next((p for p in parts if p.startswith("/")), None)
        if path:
            libs.append(path)
    return libs


def nginx_spec(binary: str = "/usr/sbin/nginx") -> oci.ImageSpec:
    entries = _base_entries()
    seen_dirs = {e.path for e in entries}
    files = [binary, *_shared_libraries(binary)]
    for path in files:
        real = os.path.realpath(path)
        parent = os.path.dirname(path.lstrip("/"))
        for i in range(1, len(parent.split("/")) + 1):
            d = "/".join(parent.split("/")[:i])
            if d and d not in seen_dirs:
                seen_dirs.add(d)
                entries.append(oci.LayerEntry(d, kind="dir"))
        entries.append(oci.LayerEntry(path.lstrip("/"), source=real))
    for d in ["etc/nginx", "run", "var/log", "var/log/nginx", "var/lib", "var/lib/nginx", "usr/share", "usr/share/nginx", "usr/share/nginx/html"]:
        if d not in seen_dirs:
            entries.append(oci.LayerEntry(d, kind="dir"))
    entries.append(oci.LayerEntry("etc/nginx/nginx.conf", data=_NGINX_CONF, mode=0o644))
    entries.append(oci.LayerEntry("usr/share/nginx/html/index.html", data=_NGINX_INDEX, mode=0o644))
    return oci.ImageSpec(
        name=NGINX,
        tags=["1.24", "latest"],
        entries=entries,
        entrypoint=["/usr/sbin/nginx"],
        cmd=["-c", "/etc/nginx/nginx.conf"],
        exposed_ports=["80/tcp"],
        stop_signal="SIGQUIT",
    )


def image_specs(workdir: pathlib.Path, names: list[str]) -> dict[str, oci.ImageSpec]:
    specs: dict[str, oci.ImageSpec] = {}
    for name in names:
        if name == "busybox":
            specs[name] = busybox_spec()
        elif name == "pause":
            specs[name] = pause_spec(workdir)
        elif name == "nginx":
            specs[name] = nginx_spec()
        else:
            raise ValueError(f"unknown image {name!r} (known: busybox, pause, nginx)")
    return specs


def build_images(out_dir: pathlib.Path, names: list[str] | None = None, *, force: bool = False) -> dict[str, pathlib.Path]:
    """Builds the named images into ``out_dir``: ``<name>/`` (OCI layout) and ``<name>.tar``.

    Returns name -> archive path.  Archives that already exist are reused unless ``force``.
    """
    names = names or ["busybox", "pause"]
    out_dir.mkdir(parents=True, exist_ok=True)
    archives: dict[str, pathlib.Path] = {}
    todo = [n for n in names if force or not (out_dir / f"{n}.tar").exists()]
    with tempfile.TemporaryDirectory(prefix="pyk8s-build-") as tmp:
        for name, spec in image_specs(pathlib.Path(tmp), todo).items():
            layout = out_dir / name
            shutil.rmtree(layout, ignore_errors=True)
            oci.write_layout(spec, layout)
            oci.write_archive(layout, out_dir / f"{name}.tar")
    for name in names:
        archives[name] = out_dir / f"{name}.tar"
    return archives


def unpack_busybox_rootfs(dest: pathlib.Path) -> pathlib.Path:
    """A busybox rootfs directory for the process runtime (no layout needed)."""
    if not (dest / "bin" / "busybox").exists():
        oci.unpack_rootfs(busybox_spec(), dest)
    return dest
