"""The viewer's address: the socket peer unless that peer is a trusted proxy (security case 18)."""

from __future__ import annotations

import ipaddress
from collections.abc import Collection


def viewer_ip(remote: str | None, forwarded_for: str, trusted: Collection[str]) -> str:
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
