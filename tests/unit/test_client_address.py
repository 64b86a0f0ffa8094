"""F-08: which address a request is counted and audited under."""

from __future__ import annotations

import ipaddress

import pytest

from api.client_address import IpNetwork, client_address, forwarded_client

PROXY = ipaddress.ip_address("10.0.0.5")
TRUSTED: tuple[IpNetwork, ...] = (
    ipaddress.ip_network("10.0.0.0/24"),
    ipaddress.ip_network("fd00::/8"),
)


@pytest.mark.parametrize(
    ("headers", "client"),
    [
        ([b"203.0.113.7"], "203.0.113.7"),
        # Entries left of the first untrusted one are the client's own claims.
        ([b"198.51.100.1, 203.0.113.7"], "203.0.113.7"),
        ([b"198.51.100.1, 203.0.113.7, 10.0.0.9"], "203.0.113.7"),
        # Several headers are one list, in order.
        ([b"198.51.100.1", b"203.0.113.7, 10.0.0.9"], "203.0.113.7"),
        ([b"2001:db8::1"], "2001:db8::1"),
        # Not an address: the chain cannot be read, so the proxy itself is the client.
        ([b"A" * 100], "10.0.0.5"),
        ([b"203.0.113.7, unknown"], "10.0.0.5"),
        ([b"203.0.113.7:4711"], "10.0.0.5"),
        ([b""], "10.0.0.5"),
        ([], "10.0.0.5"),
        # Only proxies: the leftmost is where the request started.
        ([b"10.0.0.8, 10.0.0.9"], "10.0.0.8"),
        ([b"::ffff:10.0.0.8, 203.0.113.7"], "203.0.113.7"),
    ],
)
def test_the_client_is_the_rightmost_address_that_is_not_a_trusted_proxy(
    headers: list[bytes], client: str
) -> None:
    assert str(forwarded_client(PROXY, headers, TRUSTED)) == client


def _scope(peer: str | None, forwarded: str | None = None) -> dict[str, object]:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return {
        "type": "http",
        "client": (peer, 50000) if peer else None,
        "headers": headers,
    }


def test_without_trusted_proxies_the_peer_is_the_client_whatever_it_forwards() -> None:
    # The test settings trust no proxy (VIGIL_TRUSTED_PROXIES unset).
    assert client_address(_scope("127.0.0.1", "203.0.113.7")) == "127.0.0.1"
    assert client_address(_scope("::1", "A" * 100)) == "::1"
    assert client_address(_scope(None)) is None
    # Starlette's test client names no address: nothing to count or audit it under.
    assert client_address(_scope("testclient")) is None
