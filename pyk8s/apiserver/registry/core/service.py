"""Services: ClusterIP and NodePort allocation.

Allocations are not stored separately: the allocator rebuilds its sets from
the stored Services the first time it is used, so they survive a restart.  The
first address of the service CIDR is reserved for the ``kubernetes`` Service
(handed out only when asked for explicitly).  Addresses are picked at random,
as upstream does, so two API servers racing rarely collide; the storage's
create guard plus the in-process lock keep one process consistent.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
from typing import Any

import orjson

from pyk8s.apiserver.registry.generic import GenericStore
from pyk8s.apiserver.registry.rest import WriteOptions
from pyk8s.machinery import errors

Obj = dict[str, Any]
NODE_PORT_TYPES = ("NodePort", "LoadBalancer")


def _go_strings(values: list[str]) -> str:
    return "[]string{" + ", ".join(f'"{v}"' for v in values) + "}"


class Allocations:
    def __init__(self, cidr: str, port_range: tuple[int, int]) -> None:
        self.net = ipaddress.ip_network(cidr, strict=False)
        self.port_range = port_range
        self.ips: set[str] = set()
        self.ports: set[tuple[str, int]] = set()  # (protocol, port)
        self.lock = asyncio.Lock()
        self.loaded = False

    def add_service(self, svc: Obj) -> None:
        spec = svc.get("spec") or {}
        for ip in spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else []):
            if ip and ip != "None":
                self.ips.add(ip)
        for port in spec.get("ports") or []:
            if isinstance(port, dict) and port.get("nodePort"):
                self.ports.add((port.get("protocol") or "TCP", int(port["nodePort"])))
        if spec.get("healthCheckNodePort"):
            self.ports.add(("TCP", int(spec["healthCheckNodePort"])))

    def release_service(self, svc: Obj) -> None:
        spec = svc.get("spec") or {}
        for ip in spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else []):
            self.ips.discard(ip)
        for port in spec.get("ports") or []:
            if isinstance(port, dict) and port.get("nodePort"):
                self.ports.discard((port.get("protocol") or "TCP", int(port["nodePort"])))
        if spec.get("healthCheckNodePort"):
            self.ports.discard(("TCP", int(spec["healthCheckNodePort"])))

    def first_ip(self) -> str:
        return str(self.net.network_address + 1)

    def pick_ip(self) -> str:
        size = self.net.num_addresses
        for _ in range(64):
            candidate = str(self.net.network_address + random.randint(2, size - 2))
            if candidate not in self.ips:
                return candidate
        for offset in range(2, size - 1):
            candidate = str(self.net.network_address + offset)
            if candidate not in self.ips:
                return candidate
        raise errors.internal("failed to allocate a serviceIP: range is full")

    def pick_port(self, protocol: str) -> int:
        lo, hi = self.port_range
        for _ in range(64):
            port = random.randint(lo, hi)
            if (protocol, port) not in self.ports:
                return port
        for port in range(lo, hi + 1):
            if (protocol, port) not in self.ports:
                return port
        raise errors.internal("failed to allocate a nodePort: range is full")


def _health_check_port(alloc: Allocations, spec: Obj, old_spec: Obj) -> int:
    """A LoadBalancer Service with externalTrafficPolicy Local gets a healthCheckNodePort from the node port
    range, as upstream allocates it (the service proxy serves it); returns the port newly taken, or 0."""
    if spec.get("type") != "LoadBalancer" or spec.get("externalTrafficPolicy") != "Local":
        return 0
    port = int(spec.get("healthCheckNodePort") or 0)
    if port and port == old_spec.get("healthCheckNodePort"):
        return 0
    if not port or ("TCP", port) in alloc.ports:
        port = alloc.pick_port("TCP")
    spec["healthCheckNodePort"] = port
    alloc.ports.add(("TCP", port))
    return port


class ServiceStore(GenericStore):
    _alloc: Allocations | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # allocations made for a create in flight, released if the write fails
        self._pending: dict[int, tuple[list[str], list[tuple[str, int]]]] = {}

    async def allocations(self) -> Allocations:
        if self._alloc is None:
            reg = self.registry
            cidr = reg.service_cidr if reg is not None else "10.96.0.0/12"
            ports = reg.node_port_range if reg is not None else (30000, 32767)
            self._alloc = Allocations(cidr, ports)
        alloc = self._alloc
        if not alloc.loaded:
            async with alloc.lock:
                if not alloc.loaded:
                    res = await self.storage.list(self.prefix)
                    for kv in res.items:
                        alloc.add_service(orjson.loads(kv.value))
                    alloc.loaded = True
        return alloc

    def _invalid_field(self, name: str, path: str, message: str) -> errors.StatusError:
        return errors.invalid(self.resource.kind, name, [errors.Cause("FieldValueInvalid", message, path)])

    async def before_create(self, obj: Obj, opts: WriteOptions) -> None:
        alloc = await self.allocations()
        async with alloc.lock:
            self._pending[id(obj)] = self._allocate(alloc, obj, None)

    def _created(self, obj: Obj) -> None:
        self._pending.pop(id(obj), None)

    async def after_create_failed(self, obj: Obj) -> None:
        alloc = await self.allocations()
        ips, ports = self._pending.pop(id(obj), ([], []))
        for ip in ips:
            alloc.ips.discard(ip)
        for p in ports:
            alloc.ports.discard(p)

    async def before_update(self, new: Obj, old: Obj, opts: WriteOptions, subresource: str) -> None:
        if subresource:
            return
        alloc = await self.allocations()
        async with alloc.lock:
            self._allocate(alloc, new, old)

    async def after_update(self, new: Obj, old: Obj) -> None:
        alloc = await self.allocations()
        kept = Allocations(str(alloc.net), alloc.port_range)
        kept.add_service(new)
        gone = Allocations(str(alloc.net), alloc.port_range)
        gone.add_service(old)
        alloc.ips -= gone.ips - kept.ips
        alloc.ports -= gone.ports - kept.ports

    async def after_delete(self, obj: Obj) -> None:
        alloc = await self.allocations()
        alloc.release_service(obj)

    def _allocate(self, alloc: Allocations, obj: Obj, old: Obj | None) -> tuple[list[str], list[tuple[str, int]]]:
        name = obj["metadata"].get("name", "")
        spec = obj.setdefault("spec", {})
        kind = spec.get("type") or "ClusterIP"
        taken_ips: list[str] = []
        taken_ports: list[tuple[str, int]] = []
        old_spec = (old or {}).get("spec") or {}
        if kind != "ExternalName" and spec.get("clusterIP") != "None":
            ip = spec.get("clusterIP") or ""
            if ip and ip == old_spec.get("clusterIP"):
                pass
            elif ip:
                if ipaddress.ip_address(ip) not in alloc.net:
                    raise self._invalid_field(name, "spec.clusterIPs",
                                              f"Invalid value: {_go_strings([ip])}: failed to allocate IP {ip}: "
                                              f"the provided IP ({ip}) is not in the valid range. The range of valid "
                                              f"IPs is {alloc.net}")
                if ip in alloc.ips:
                    raise self._invalid_field(name, "spec.clusterIPs",
                                              f"Invalid value: {_go_strings([ip])}: failed to allocate IP {ip}: "
                                              "provided IP is already allocated")
            else:
                ip = alloc.pick_ip()
            if ip not in alloc.ips:
                alloc.ips.add(ip)
                taken_ips.append(ip)
            spec["clusterIP"], spec["clusterIPs"] = ip, [ip]
        if kind in NODE_PORT_TYPES:
            old_ports = {(p.get("protocol") or "TCP", p.get("nodePort")) for p in old_spec.get("ports") or []
                         if isinstance(p, dict)}
            lo, hi = alloc.port_range
            for i, port in enumerate(spec.get("ports") or []):
                if not isinstance(port, dict):
                    continue
                proto = port.get("protocol") or "TCP"
                node_port = port.get("nodePort")
                if node_port and (proto, node_port) in old_ports:
                    continue
                if node_port:
                    if not lo <= int(node_port) <= hi:
                        raise self._invalid_field(name, f"spec.ports[{i}].nodePort",
                                                  f"Invalid value: {node_port}: provided port is not in the valid "
                                                  f"range. The range of valid ports is {lo}-{hi}")
                    if (proto, int(node_port)) in alloc.ports:
                        raise self._invalid_field(name, f"spec.ports[{i}].nodePort",
                                                  f"Invalid value: {node_port}: provided port is already allocated")
                else:
                    node_port = alloc.pick_port(proto)
                port["nodePort"] = int(node_port)
                alloc.ports.add((proto, int(node_port)))
                taken_ports.append((proto, int(node_port)))
        health = _health_check_port(alloc, spec, old_spec)
        if health:
            taken_ports.append(("TCP", health))
        return taken_ips, taken_ports
