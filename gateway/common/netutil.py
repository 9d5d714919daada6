"""The viewer's address: the socket peer unless that peer is a trusted proxy (security case 18)."""

from __future__ import annotations

import ipaddress
from collections.abc import Container, Iterable


class TrustedProxies(Container[str]):
    """Proxy addresses given one by one or as CIDRs (a load balancer's pool is a range)."""

    def __init__(self, entries: Iterable[str]) -> None:
        self._networks = tuple(ipaddress.ip_network(e, strict=False) for e in entries)

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, str) or not self._networks:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._networks)

    def __bool__(self) -> bool:
        return bool(self._networks)


def viewer_ip(remote: str | None, forwarded_for: str, trusted: Container[str]) -> str:
    """Walk X-Forwarded-For right to left past trusted proxies; never trust a spoofed left entry."""
    address = remote or ""
    if address not in trusted:
        return address
    for hop in reversed(forwarded_for.split(",")):
        hop = hop.strip()
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return address
        if hop not in trusted:
            return hop
    return address


def budget_key(address: str) -> str:
    """What a per-address budget counts: an IPv4 address, or an IPv6 /64 (one subscriber's share,
    which a client can rotate addresses inside for free)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)
