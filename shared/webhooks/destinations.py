"""The SSRF guard: a webhook may only reach a public address on one of the public ports, unless
the operator allowed the network or host name on that port (VIGIL_WEBHOOK_ALLOWED_NETWORKS).

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
_PORT_RANGE = re.compile(r"^(\d{1,5})(?:-(\d{1,5}))?$")
SETTING = "VIGIL_WEBHOOK_ALLOWED_NETWORKS"
PORTS_SETTING = "VIGIL_WEBHOOK_PUBLIC_PORTS"


@dataclass(frozen=True)
class Ports:
    """A set of TCP ports, as inclusive ranges."""

    ranges: tuple[tuple[int, int], ...]

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and any(low <= port <= high for low, high in self.ranges)

    def __str__(self) -> str:
        return ", ".join(str(low) if low == high else f"{low}-{high}" for low, high in self.ranges)


def parse_ports(spec: str) -> Ports:
    """`80,443,8000-8999` as Ports; ValueError for anything else (empty included)."""
    ranges: list[tuple[int, int]] = []
    for part in spec.split(","):
        match = _PORT_RANGE.match(part.strip())
        if match is None:
            raise ValueError(f"{part.strip()!r} is not a port (80) or a port range (8000-8999)")
        low = int(match[1])
        high = int(match[2] or low)
        if not 0 < low <= high < 65536:
            raise ValueError(f"{part.strip()!r} is not a range of ports between 1 and 65535")
        ranges.append((low, high))
    return Ports(tuple(ranges))


@dataclass(frozen=True)
class AllowList:
    """The networks and host names the operator opened, each on its own ports, and the ports
    webhooks may use towards public addresses."""

    networks: tuple[tuple[IPNetwork, Ports], ...] = ()
    hosts: tuple[tuple[str, Ports], ...] = ()
    public_ports: Ports = Ports(())

    def allows(self, address: IPAddress, port: int) -> bool:
        return any(address in network and port in ports for network, ports in self.networks)

    def covers(self, address: IPAddress) -> bool:
        """Whether an entry names the address, on whatever port."""
        return any(address in network for network, _ in self.networks)

    def allows_host(self, host: str, port: int) -> bool:
        return any(host == name and port in ports for name, ports in self.hosts)


def _split_entry(raw: str) -> tuple[str, str]:
    """An entry's network or host, and its ports: `10.0.0.0/8:443`, `[fd00::/8]:8000-8999`,
    `hooks.internal:443,8443`."""
    entry = raw.strip().lower()
    if entry.startswith("["):
        inside, bracket, ports = entry[1:].partition("]:")
        if not bracket:
            raise ValueError(
                f"{SETTING}: {raw!r} needs its ports after the bracket: [fd00::/8]:443"
            )
        return inside, ports
    if entry.count(":") > 1:
        raise ValueError(f"{SETTING}: {raw!r}: write an IPv6 network in brackets: [fd00::/8]:443")
    where, colon, ports = entry.partition(":")
    if not colon:
        raise ValueError(
            f"{SETTING}: {raw!r} names no port: write {entry or 'NETWORK'}:PORT, such as "
            f"{entry or '10.0.0.0/8'}:443 or {entry or '10.0.0.0/8'}:8000-8999"
        )
    return where, ports


@lru_cache(maxsize=16)
def _parse(entries: tuple[str, ...], public_ports: str) -> AllowList:
    networks: list[tuple[IPNetwork, Ports]] = []
    hosts: list[tuple[str, Ports]] = []
    for raw in entries:
        where, port_spec = _split_entry(raw)
        try:
            ports = parse_ports(port_spec)
        except ValueError as exc:
            raise ValueError(f"{SETTING}: {raw!r}: {exc}") from exc
        try:
            networks.append((ipaddress.ip_network(where), ports))
            continue
        except ValueError as exc:
            if "/" in where or where.replace(".", "").replace(":", "").isdigit():
                raise ValueError(f"{SETTING}: {raw!r} is not a valid CIDR network ({exc})") from exc
        if not HOST_NAME.match(where):
            raise ValueError(f"{SETTING}: {raw!r} is neither a CIDR network nor a host name")
        hosts.append((where.rstrip("."), ports))
    try:
        public = parse_ports(public_ports)
    except ValueError as exc:
        raise ValueError(f"{PORTS_SETTING}: {exc}") from exc
    return AllowList(tuple(networks), tuple(hosts), public)


def parse_allow_list(entries: Iterable[str], public_ports: str) -> AllowList:
    """The operator's allow-list and public ports; ValueError naming the first entry that is not
    a CIDR network (host bits clear: 10.0.0.0/8, not 10.0.0.1/8) or host name followed by its
    ports (`:443`, `:8000-8999`, `:80,443`), or naming bad public ports."""
    return _parse(tuple(entries), public_ports)


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
        # Deprecated, yet routed by some networks; neither is_private nor is_global knows it.
        (
            isinstance(address, ipaddress.IPv6Address) and address.is_site_local,
            "a site-local address",
        ),
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
    name itself is allowed, in which case the request resolves it as usual. `private` when the
    operator's allow-list let it through: what such a destination answers is not shown."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]
    private: bool = False


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


def _vet(host: str, address: IPAddress, port: int, allowed: AllowList) -> bool:
    """Whether the allow-list lets `address` through on `port` (False for a public address on a
    public port); UnprocessableError saying why neither holds."""
    effective = _embedded_ipv4(address)
    if allowed.allows(address, port) or allowed.allows(effective, port):
        return True
    reason = _forbidden(effective) or _forbidden(address)
    if reason is None:
        if port in allowed.public_ports:
            return False
        raise _refuse(f"port {port} is not open for webhooks; use one of {allowed.public_ports}")
    shown = host if _is_literal(host) else f"{host} resolves to {address}, which"
    if allowed.covers(address) or allowed.covers(effective):
        raise _refuse(f"{shown} is {reason}, open to webhooks on other ports only")
    raise _refuse(f"{shown} is {reason}: webhooks go to public addresses only")


def resolve_destination(url: str, allowed: AllowList) -> Destination:
    """The destination if `url` may be requested; UnprocessableError saying why not."""
    scheme, host, port = _split(url)
    if allowed.allows_host(host, port):
        return Destination(url, scheme, host, port, (), private=True)
    addresses = _resolve(host, port)
    # Evaluated for every address: each must pass, and one allow-listed makes it private.
    listed = [_vet(host, address, port, allowed) for address in addresses]
    unique = tuple(dict.fromkeys(map(str, addresses)))
    return Destination(url, scheme, host, port, unique, private=any(listed))


async def check_destination_async(url: str, allowed: list[str], public_ports: str) -> None:
    """UnprocessableError unless `url` is http(s), without credentials, and every address of its
    host is public (on a public port) or allowed on its port by `allowed` (the setting's
    format); the name resolution runs in a thread, for the API."""
    allow_list = parse_allow_list(allowed, public_ports)
    await asyncio.to_thread(resolve_destination, url, allow_list)
