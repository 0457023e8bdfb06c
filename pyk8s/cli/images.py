"""``pyk8s images``: build the offline images, import tarballs, write registry mirrors, push.

* ``build [NAME...] [--out DIR] [--import --runtime-endpoint unix://...]`` —
  busybox, pause, nginx as OCI layouts plus archives;
* ``import FILE.tar... --runtime-endpoint unix://SOCK`` — OCI or docker-archive
  tarballs straight into containerd's k8s.io namespace (the air-gapped path);
* ``mirrors --config-path DIR (--registries FILE | --mirror HOST=URL...) [--insecure]`` —
  containerd hosts.toml files;
* ``push LAYOUT:TAG DEST --registry HOST:PORT`` — skopeo copy to a plain-HTTP registry.
"""

from __future__ import annotations

import argparse
import asyncio
import pathlib
import subprocess
import sys

from pyk8s.kubelet.images import build, mirrors
from pyk8s.kubelet.runtime.containerd import import_archive

DEFAULT_OUT = pathlib.Path("/tmp/pyk8s-images")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("images", help="offline images: build, import, mirrors, push")
    sub = p.add_subparsers(dest="images_command", metavar="SUBCOMMAND", required=True)

    b = sub.add_parser("build", help="build busybox, pause and nginx OCI images from Debian binaries")
    b.add_argument("names", nargs="*", default=["busybox", "pause", "nginx"])
    b.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT)
    b.add_argument("--force", action="store_true", help="rebuild even if the archive exists")
    b.add_argument("--import", dest="do_import", action="store_true", help="import the archives into the runtime")
    b.add_argument("--runtime-endpoint", default="", help="containerd socket for --import")
    b.set_defaults(func=_build)

    i = sub.add_parser("import", help="import OCI/docker-archive tarballs into containerd")
    i.add_argument("files", nargs="+", type=pathlib.Path)
    i.add_argument("--runtime-endpoint", required=True)
    i.set_defaults(func=_import)

    m = sub.add_parser("mirrors", help="write containerd hosts.toml mirror files")
    m.add_argument("--config-path", type=pathlib.Path, required=True, help="containerd registry config_path")
    m.add_argument("--registries", type=pathlib.Path, help="k3s-style registries.yaml")
    m.add_argument("--mirror", action="append", default=[], metavar="HOST=URL", help="e.g. docker.io=http://127.0.0.1:5000")
    m.add_argument("--insecure", action="store_true", help="skip TLS verification")
    m.set_defaults(func=_mirrors)

    s = sub.add_parser("push", help="push an OCI layout tag to a plain-HTTP registry with skopeo")
    s.add_argument("source", help="LAYOUT_DIR:TAG")
    s.add_argument("dest", help="repository:tag in the registry, e.g. library/busybox:1.36")
    s.add_argument("--registry", required=True, help="HOST:PORT")
    s.set_defaults(func=_push)


def _socket(endpoint: str) -> str:
    return endpoint.removeprefix("unix://")


def _build(args: argparse.Namespace) -> int:
    archives = build.build_images(args.out, args.names, force=args.force)
    for name, path in archives.items():
        print(f"{name}\t{path}\t{args.out / name}")
    if args.do_import:
        if not args.runtime_endpoint:
            print("--import needs --runtime-endpoint", file=sys.stderr)
            return 2
        for path in archives.values():
            print(asyncio.run(import_archive(_socket(args.runtime_endpoint), path)), end="")
    return 0


def _import(args: argparse.Namespace) -> int:
    for path in args.files:
        print(asyncio.run(import_archive(_socket(args.runtime_endpoint), path)), end="")
    return 0


def _mirrors(args: argparse.Namespace) -> int:
    registries = mirrors.load_registries_yaml(args.registries) if args.registries else {"mirrors": {}}
    for item in args.mirror:
        host, sep, url = item.partition("=")
        if not sep:
            print(f"bad --mirror {item!r}, want HOST=URL", file=sys.stderr)
            return 2
        registries.setdefault("mirrors", {}).setdefault(host, {}).setdefault("endpoint", []).append(url)
    for path in mirrors.write_hosts_dir(args.config_path, registries, insecure=args.insecure):
        print(path)
    return 0


def _push(args: argparse.Namespace) -> int:
    cmd = ["skopeo", "copy", "--dest-tls-verify=false", f"oci:{args.source}", f"docker://{args.registry}/{args.dest}"]
    return subprocess.run(cmd).returncode
