"""The one entry point: ``pyk8s <command> ...``.

Each command lives in its own module under ``pyk8s.cli`` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a callable
taking the parsed arguments and returning an exit code.  New commands need no
change here.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import pyk8s.cli


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pyk8s", description="Kubernetes, implemented in Python.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    names = sorted(m.name for m in pkgutil.iter_modules(pyk8s.cli.__path__) if m.name != "main")
    # A known command loads only its own module: the others' imports (the API server's for a kubelet) cost memory.
    own = (command or "").replace("-", "_")
    if own in names and hasattr(importlib.import_module(f"pyk8s.cli.{own}"), "register"):
        names = [own]
    for name in names:
        module = importlib.import_module(f"pyk8s.cli.{name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv[0] if argv else None)
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    return int(func(args) or 0)
