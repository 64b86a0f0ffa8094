"""The client's address, as the rate limits, the access log and the audit trail see it.

uvicorn runs with `--no-proxy-headers`, so the ASGI scope's client is the socket peer. The API
decides itself whether to believe an X-Forwarded-For header: only when that peer is one of
VIGIL_TRUSTED_PROXIES. The client is then the rightmost entry that is not a trusted proxy
(each proxy appends the address it saw, so entries left of it are the client's own claims).
An entry that is not an IP address means the chain cannot be read: the peer is used."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from starlette.types import Scope

from shared.settings import get_settings

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

FORWARDED_FOR = b"x-forwarded-for"
# Kept on the scope's state: the middleware, the endpoint and the access log ask alike.
STATE_KEY = "client_address"


@lru_cache(maxsize=4)
def _networks(entries: tuple[str, ...]) -> tuple[IpNetwork, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def trusted_networks() -> tuple[IpNetwork, ...]:
    return _networks(tuple(get_settings().trusted_proxies))


def _trusted(address: IpAddress, trusted: tuple[IpNetwork, ...]) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in trusted)


def _parse(value: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def forwarded_client(
    peer: IpAddress, headers: list[bytes], trusted: tuple[IpNetwork, ...]
) -> IpAddress:
    """The client that the trusted proxy `peer` forwarded for, from its X-Forwarded-For
    values (every header of that name, in order)."""
    entries = [entry for value in headers for entry in value.decode("latin-1").split(",")]
    client = peer
    for entry in reversed(entries):
        address = _parse(entry)
        if address is None:
            return peer
        client = address
        if not _trusted(address, trusted):
            return address
    # Every hop was a trusted proxy: the leftmost is where the request started.
    return client


def client_address(scope: Scope) -> str | None:
    """The client's IP address, or None when the server reports no peer (a Unix socket)."""
    state: dict[str, object] = scope.setdefault("state", {})
    cached = state.get(STATE_KEY)
    if isinstance(cached, str):
        return cached
    peer = scope.get("client")
    address = _parse(peer[0]) if peer else None
    if address is None:
        return None
    trusted = trusted_networks()
    if _trusted(address, trusted):
        headers = [value for name, value in scope.get("headers", []) if name == FORWARDED_FOR]
        address = forwarded_client(address, headers, trusted)
    state[STATE_KEY] = str(address)
    return str(address)


FORWARDED_PROTO = b"x-forwarded-proto"


def is_https(scope: Scope) -> bool:
    """Whether the client reached the service over HTTPS: the connection itself, or what a
    trusted proxy (the socket peer being one of VIGIL_TRUSTED_PROXIES) says in
    X-Forwarded-Proto. The nearest proxy's claim counts: it appends, or sets, the last value."""
    if scope.get("scheme") == "https":
        return True
    peer = scope.get("client")
    address = _parse(peer[0]) if peer else None
    if address is None or not _trusted(address, trusted_networks()):
        return False
    values: list[bytes] = [
        value for name, value in scope.get("headers", []) if name == FORWARDED_PROTO
    ]
    if not values:
        return False
    nearest: str = values[-1].decode("latin-1").split(",")[-1]
    return nearest.strip().lower() == "https"
