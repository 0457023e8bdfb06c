"""Revisioned key-value storage (see ``interface.py`` for the contract).

``open_storage(url)`` picks a driver by URL and returns it unstarted; call
``await storage.start()`` before use and ``await storage.close()`` after:

- ``memory://``                       in-process, for unit tests
- ``sqlite:///abs/path.db`` or a bare path (``?sync=normal`` skips the fsync
  per commit: survives a process crash, not a power loss)   the default
- ``etcd://127.0.0.1:2379`` or ``http://host:port`` (comma-separated
  endpoints allowed)                 the real etcd v3 over its gRPC API

Drivers are imported lazily so that, for example, the memory driver does not
pull in aiohttp.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from pyk8s.storage.interface import Storage


def open_storage(url: str) -> Storage:
    """Build the driver for ``url``.  Raises ValueError for an unknown scheme."""
    if url.startswith("memory:"):
        from pyk8s.storage.drivers.memory import MemoryStorage

        return MemoryStorage()
    if url.startswith(("etcd://", "http://", "https://")):
        from pyk8s.storage.drivers.etcd import EtcdStorage

        return EtcdStorage(etcd_endpoints(url))
    if url.startswith("sqlite:"):
        from pyk8s.storage.drivers.sqlite import SqliteStorage

        parts = urlsplit(url)
        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        # sqlite:///abs/path.db -> /abs/path.db; sqlite://rel/path.db -> rel/path.db
        path = parts.netloc + parts.path
        return SqliteStorage(path, synchronous=options.get("sync", "full"))
    if "://" in url:
        raise ValueError(f"unknown storage URL scheme: {url!r}")
    from pyk8s.storage.drivers.sqlite import SqliteStorage

    return SqliteStorage(url)


def etcd_endpoints(url: str) -> list[str]:
    """``etcd://a:2379,b:2379`` -> ``["http://a:2379", "http://b:2379"]``."""
    out: list[str] = []
    for part in url.split(","):
        part = part.strip()
        scheme = "http"
        if "://" in part:
            scheme, part = part.split("://", 1)
            scheme = "http" if scheme == "etcd" else scheme
        part = part.strip("/")
        if part:
            out.append(f"{scheme}://{part}")
    if not out:
        raise ValueError(f"no etcd endpoint in {url!r}")
    return out


__all__ = ["Storage", "open_storage", "etcd_endpoints"]
