"""``pyk8s images``: build the offline images, serve them from a local registry, import, mirrors, push.

* ``build [NAME...] [--out DIR] [--force] [--import --runtime-endpoint unix://...] [--push HOST:PORT]`` —
  busybox, pause, nginx and dnsutils from Debian packages, as OCI layouts plus
  archives; nothing is rebuilt when nothing changed;
* ``list [--out DIR]`` — every reference each image answers to, and what it holds;
* ``registry --data-dir DIR [--port P] [--hosts-dir DIR] [--netns PATH] [--allow-upstream]`` — the
  local registry serving them on 127.0.0.1, as containerd's mirror for
  docker.io, registry.k8s.io and the other hosts the references name;
* ``import FILE.tar... --runtime-endpoint unix://SOCK`` — OCI or docker-archive
  tarballs straight into containerd's k8s.io namespace (the air-gapped path);
* ``mirrors --config-path DIR (--registries FILE | --mirror HOST=URL...) [--insecure]`` —
  containerd hosts.toml files;
* ``push LAYOUT:REF DEST --registry HOST:PORT`` — skopeo copy to a plain-HTTP registry.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import pathlib
import subprocess
import sys

from pyk8s.cli import signals
from pyk8s.kubelet.images import build, catalog, debian, mirrors, registry, tools
from pyk8s.kubelet.runtime.containerd import import_archive

DEFAULT_OUT = build.DEFAULT_OUT


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("images", help="offline images: build, registry, import, mirrors, push")
    sub = p.add_subparsers(dest="images_command", metavar="SUBCOMMAND", required=True)

    b = sub.add_parser("build", help="build the offline images (busybox, pause, nginx, dnsutils) from Debian packages")
    b.add_argument("names", nargs="*", default=list(build.DEFAULT_NAMES), metavar="NAME",
                   help=f"any of {', '.join(catalog.NAMES)} (default: all)")
    b.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT)
    b.add_argument("--force", action="store_true", help="rebuild even if nothing changed")
    b.add_argument("--import", dest="do_import", action="store_true", help="import the archives into the runtime")
    b.add_argument("--runtime-endpoint", default="", help="containerd socket for --import")
    b.add_argument("--push", metavar="HOST:PORT", default="", help="push every reference to this plain-HTTP registry")
    b.set_defaults(func=_build)

    ls = sub.add_parser("list", help="the references each offline image answers to")
    ls.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT)
    ls.set_defaults(func=_list)

    r = sub.add_parser("registry", help="serve the offline images from a local registry (containerd's mirror)")
    r.add_argument("--data-dir", type=pathlib.Path, required=True, help="registry data goes to DATA_DIR/registry")
    r.add_argument("--port", type=int, default=registry.DEFAULT_PORT)
    r.add_argument("--images-dir", type=pathlib.Path, help="where images are built (default DATA_DIR/images)")
    r.add_argument("--hosts-dir", type=pathlib.Path, help="containerd's registry config_path, for the hosts.toml files")
    r.add_argument("--registries", type=pathlib.Path, help="k3s-style registries.yaml tried before the local registry")
    r.add_argument("--netns", help="network namespace path to serve in (where containerd runs)")
    r.add_argument("--allow-upstream", action="store_true",
                   help="let containerd pull from the real registries what no mirror holds")
    r.set_defaults(func=_registry)

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

    s = sub.add_parser("push", help="push an OCI layout reference to a plain-HTTP registry with skopeo")
    s.add_argument("source", help="LAYOUT_DIR:REF, e.g. /tmp/pyk8s-images/busybox:docker.io/library/busybox:1.28.4")
    s.add_argument("dest", help="repository:tag in the registry, e.g. library/busybox:1.28.4")
    s.add_argument("--registry", required=True, help="HOST:PORT")
    s.set_defaults(func=_push)


def _socket(endpoint: str) -> str:
    return endpoint.removeprefix("unix://")


def _build(args: argparse.Namespace) -> int:
    if args.do_import and not args.runtime_endpoint:
        print("--import needs --runtime-endpoint", file=sys.stderr)
        return 2
    try:
        images = build.build(args.out, args.names, force=args.force)
    except (ValueError, debian.AptError, tools.ToolchainError) as err:
        print(f"pyk8s images build: {err}", file=sys.stderr)
        return 1
    for name, image in images.items():
        state = "built" if image.rebuilt else "up to date"
        print(f"{name}\t{state}\t{image.archive}\t{len(image.refs)} references\t{image.source}")
    if args.do_import:
        for image in images.values():
            print(asyncio.run(import_archive(_socket(args.runtime_endpoint), image.archive)), end="")
    if args.push:
        return asyncio.run(_push_all(args.push, images))
    return 0


async def _push_all(address: str, images: dict[str, build.BuiltImage]) -> int:
    try:
        copied = await registry.push(address, images)
    except registry.RegistryError as err:
        print(f"pyk8s images build: {err}", file=sys.stderr)
        return 1
    for ref in copied:
        print(f"pushed {ref}")
    return 0


def _list(args: argparse.Namespace) -> int:
    for name, refs in catalog.IMAGES.items():
        layout = args.out / name
        source = build.source_label(layout) if (layout / "index.json").exists() else "(not built)"
        print(f"{name}: {source}")
        for ref in refs:
            print(f"  {ref}")
    return 0


def _registry(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    user = mirrors.load_registries_yaml(args.registries) if args.registries else None
    component = registry.ImageRegistry(
        args.data_dir.resolve(), port=args.port, netns=args.netns, images_dir=args.images_dir,
        hosts_dir=args.hosts_dir, user_mirrors=user, allow_upstream=args.allow_upstream,
    )
    return asyncio.run(_serve(component))


async def _serve(component: registry.ImageRegistry) -> int:
    signals.cancel_on_signals()
    try:
        await component.run()
    except asyncio.CancelledError:
        return 0
    except (registry.RegistryError, OSError) as err:
        print(f"pyk8s images registry: {err}", file=sys.stderr)
        return 1
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
