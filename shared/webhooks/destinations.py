"""The SSRF guard: a webhook may only reach a public address, unless the operator allowed the
network or host name (VIGIL_WEBHOOK_ALLOWED_NETWORKS).

A URL is checked when it is registered and again before every attempt, against every address
its host resolves to; the sender then connects to an address it checked (see `Destination`),
so a name that resolves to something else by the time of the request (DNS rebinding) cannot
lead it to a private one."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import httpx

from shared.errors import UnprocessableError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_LENGTH = 2048
SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
METADATA_ADDRESS = ipaddress.IPv4Address("169.254.169.254")
CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
# IPv6 forms that carry an IPv4 address a gateway would forward to.
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
HOST_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*\.?$")
SETTING = "VIGIL_WEBHOOK_ALLOWED_NETWORKS"


@dataclass(frozen=True)
class AllowList:
    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()

    def allows(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)


@lru_cache(maxsize=16)
def _parse(entries: tuple[str, ...]) -> AllowList:
    networks: list[IPNetwork] = []
    hosts: set[str] = set()
    for raw in entries:
        entry = raw.strip().lower()
        try:
            networks.append(ipaddress.ip_network(entry))
            continue
        except ValueError as exc:
            if "/" in entry or entry.replace(".", "").replace(":", "").isdigit():
                raise ValueError(f"{SETTING}: {raw!r} is not a valid CIDR network ({exc})") from exc
        if not HOST_NAME.match(entry):
            raise ValueError(f"{SETTING}: {raw!r} is neither a CIDR network nor a host name")
        hosts.add(entry.rstrip("."))
    return AllowList(tuple(networks), frozenset(hosts))


def parse_allow_list(entries: Iterable[str]) -> AllowList:
    """The operator's allow-list; ValueError naming the first entry that is neither a CIDR
    network (host bits clear: 10.0.0.0/8, not 10.0.0.1/8) nor a host name."""
    return _parse(tuple(entries))


def _embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one stands for (mapped, NAT64, 6to4), else the address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address.sixtofour is not None:
            return address.sixtofour
    return address


def _forbidden(address: IPAddress) -> str | None:
    """Why a request must not go to this address, or None for a public one."""
    checks = (
        (address == METADATA_ADDRESS, "the cloud metadata address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_unspecified, "an unspecified address"),
        (address.is_multicast, "a multicast address"),
        (address in CGNAT, "a shared (CGNAT) address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "a non-public address"),
    )
    return next((reason for hit, reason in checks if hit), None)


@dataclass(frozen=True)
class Destination:
    """A vetted URL. `addresses` are the checked addresses to connect to; empty when the host
    name itself is allowed, in which case the request resolves it as usual."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]


def _refuse(message: str) -> UnprocessableError:
    return UnprocessableError(message)


def _split(url: str) -> tuple[str, str, int]:
    """Scheme, ASCII host and port, parsed by httpx: the sender's own parser, so the host
    checked here is the host it would request."""
    if len(url) > MAX_URL_LENGTH:
        raise _refuse(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ch == "\\" for ch in url):
        raise _refuse("the URL contains whitespace, control characters or backslashes")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise _refuse(f"not a valid URL: {exc}") from exc
    scheme = parsed.scheme
    if scheme not in SCHEMES:
        raise _refuse(f"the URL must start with http:// or https://, not {scheme or '?'}:")
    if parsed.userinfo or "@" in url.split("//", 1)[-1].split("/", 1)[0]:
        raise _refuse("the URL must not contain credentials (user:password@)")
    host = parsed.raw_host.decode("ascii").lower().rstrip(".")
    if not host:
        raise _refuse("the URL has no host")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise _refuse(f"the port {parsed.port} is not between 1 and 65535")
    return scheme, host, parsed.port or DEFAULT_PORTS[scheme]


class UnresolvableHostError(UnprocessableError):
    """The host has no address now; a sender may try again later, unlike for a refusal."""


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnresolvableHostError(f"cannot resolve the host {host}") from exc
    # A scope id (fe80::1%eth0) is not part of the address.
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def resolve_destination(url: str, allowed: AllowList) -> Destination:
    """The destination if `url` may be requested; UnprocessableError saying why not."""
    scheme, host, port = _split(url)
    if host in allowed.hosts:
        return Destination(url, scheme, host, port, ())
    addresses = _resolve(host, port)
    for address in addresses:
        effective = _embedded_ipv4(address)
        if allowed.allows(address) or allowed.allows(effective):
            continue
        reason = _forbidden(effective) or _forbidden(address)
        if reason is not None:
            shown = host if _is_literal(host) else f"{host} resolves to {address}, which"
            raise _refuse(f"{shown} is {reason}: webhooks go to public addresses only")
    return Destination(url, scheme, host, port, tuple(dict.fromkeys(map(str, addresses))))


async def check_destination_async(url: str, allowed: list[str]) -> None:
    """UnprocessableError unless `url` is http(s), without credentials, and every address of its
    host is public or inside `allowed` (CIDR networks or host names, the setting's format); the
    name resolution runs in a thread, for the API."""
    allow_list = parse_allow_list(allowed)
    await asyncio.to_thread(resolve_destination, url, allow_list)
