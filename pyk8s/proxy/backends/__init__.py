"""Proxy backends (``Provider`` implementations), picked by ``--proxy-mode``.

``nftables`` (the default here) and ``iptables`` program the kernel; ``ipvs``
needs the kernel's IP Virtual Server, which this kernel lacks, so asking for
it is an error that says so (and pyk8s does not implement it either).
"""

from __future__ import annotations

import os

from pyk8s.proxy.interface import Provider, ProxyConfig, ProxyError

MODES = ("nftables", "iptables", "ipvs")
DEFAULT_MODE = "nftables"


def ipvs_error() -> str:
    if not os.path.exists("/proc/net/ip_vs"):
        return ("proxy mode ipvs needs the kernel's IP Virtual Server (IP_VS), which this kernel lacks "
                "(/proc/net/ip_vs is missing); use --proxy-mode nftables (the default) or iptables")
    return "proxy mode ipvs is not implemented by pyk8s; use --proxy-mode nftables (the default) or iptables"


def new_provider(mode: str, config: ProxyConfig) -> Provider:
    """The backend for ``mode``; raises ``ProxyError`` for ipvs and unknown modes."""
    mode = mode or DEFAULT_MODE
    if mode == "nftables":
        from pyk8s.proxy.backends.nftables import NftablesProvider

        return NftablesProvider(config)
    if mode == "iptables":
        from pyk8s.proxy.backends.iptables import IptablesProvider

        return IptablesProvider(config)
    if mode == "ipvs":
        raise ProxyError(ipvs_error())
    raise ProxyError(f"unknown proxy mode {mode!r}: use one of {', '.join(MODES)}")


def cleanup_all() -> list[str]:
    """Remove what either mode installed (``pyk8s proxy --cleanup``); a missing tool is skipped."""
    from pyk8s.proxy.backends.iptables import IptablesProvider
    from pyk8s.proxy.backends.nftables import NftablesProvider

    config = ProxyConfig(node_name="")
    removed: list[str] = []
    for provider in (NftablesProvider(config), IptablesProvider(config)):
        removed += provider.cleanup()
    return removed
