"""The client's address: what the socket says, or X-Forwarded-For from a trusted proxy only.

Anyone can send X-Forwarded-For, so believing it by default would let an attacker pick the
address the login limits count against. Only when the connection comes from one of
`server.trusted_proxies` is the header read, from the right: the first hop that is not itself a
trusted proxy is the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from fastapi import Request

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _trusted(address: str, proxies: Sequence[IPNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def client_address(request: Request, proxies: Sequence[IPNetwork]) -> str | None:
    """None when the transport gives no peer address (in-process test clients)."""
    peer = request.client.host if request.client else None
    if peer is None or not proxies or not _trusted(peer, proxies):
        return peer
    hops = [h.strip() for value in request.headers.getlist("x-forwarded-for") for h in value.split(",")]
    for hop in reversed([h for h in hops if h]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a garbled header: count the proxy itself rather than guess
        if not _trusted(hop, proxies):
            return hop
    return peer
