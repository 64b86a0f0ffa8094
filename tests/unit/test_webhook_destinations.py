"""The SSRF guard: what a webhook URL may point at, with and without the operator's allow-list."""

from __future__ import annotations

import asyncio

import pytest

from shared.errors import UnprocessableError
from shared.settings import Settings
from shared.webhooks.destinations import (
    Destination,
    UnresolvableHostError,
    check_destination_async,
    parse_allow_list,
    resolve_destination,
)

LOOPBACK_ALLOWED = ["127.0.0.0/8:80,443,8080"]
DEFAULT_PUBLIC_PORTS: str = Settings.model_fields["webhook_public_ports"].default


def resolve(url: str, allowed: list[str], public_ports: str = DEFAULT_PUBLIC_PORTS) -> Destination:
    """The check as the sender makes it before every attempt."""
    return resolve_destination(url, parse_allow_list(allowed, public_ports))


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8080/hook", "loopback"),
        ("http://127.1/hook", "loopback"),  # a short form the resolver expands
        ("http://2130706433/hook", "loopback"),  # 127.0.0.1 as one number
        ("http://localhost/hook", "loopback"),
        ("http://10.0.0.1/hook", "private"),
        ("http://172.16.5.4/hook", "private"),
        ("http://192.168.1.1/hook", "private"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://169.254.10.10/", "link-local"),
        ("http://100.64.0.1/", "CGNAT"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://240.0.0.1/", "reserved"),
        ("http://[::1]/hook", "loopback"),
        ("http://[::]/hook", "unspecified"),
        ("http://[fe80::1]/hook", "link-local"),
        ("http://[fc00::1]/hook", "private"),
        ("http://[::ffff:10.0.0.1]/hook", "private"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),
        ("http://[::ffff:169.254.169.254]/", "metadata"),
        ("http://[64:ff9b::a00:1]/", "private"),  # NAT64 of 10.0.0.1
        ("https://[2002:a00:1::]/", "private"),  # 6to4 of 10.0.0.1
        ("http://[fec0::1]/x", "site-local"),  # F-19: deprecated, but routed by some
        ("http://[feff:ffff::1]/x", "site-local"),
    ],
)
def test_non_public_addresses_are_refused(url: str, reason: str) -> None:
    with pytest.raises(UnprocessableError) as refused:
        resolve(url, [])
    assert reason in refused.value.detail
    assert "public addresses only" in refused.value.detail


def test_a_name_is_refused_for_what_it_resolves_to() -> None:
    with pytest.raises(UnprocessableError) as refused:
        resolve("http://localhost:9000/x", [])
    assert refused.value.detail.startswith("localhost resolves to ")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost:8080/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "https://127.5.6.7/hook",
    ],
)
def test_an_allowed_network_lets_its_addresses_through(url: str) -> None:
    assert resolve(url, LOOPBACK_ALLOWED).private


def test_the_allow_list_opens_only_what_it_names() -> None:
    for url in ("http://10.0.0.1/", "http://169.254.169.254/", "http://[::1]/"):
        with pytest.raises(UnprocessableError):
            resolve(url, LOOPBACK_ALLOWED)
    resolve("http://10.1.2.3/", ["10.1.0.0/16:80", "[::1/128]:9"])
    resolve("http://[::1]:9/", ["10.1.0.0/16:80", "[::1/128]:9"])
    with pytest.raises(UnprocessableError):
        resolve("http://10.2.0.1/", ["10.1.0.0/16:80"])


def test_an_allowed_network_is_open_on_its_ports_only() -> None:
    """F-07: opening a network for one receiver does not open every service in it."""
    allowed = ["127.0.0.0/8:8000-8999,9443", "[::1]:7000"]
    assert resolve("http://127.0.0.1:8080/hook", allowed).private
    assert resolve("https://127.0.0.9:9443/hook", allowed).private
    assert resolve("http://[::1]:7000/hook", allowed).private
    for url in (
        "http://127.0.0.1:6379/",
        "http://127.0.0.1/admin",
        "http://127.0.0.1:9000/",
        "http://[::1]:8080/",
    ):
        with pytest.raises(UnprocessableError) as refused:
            resolve(url, allowed)
        assert "open to webhooks on other ports only" in refused.value.detail, url


def test_public_addresses_are_open_on_the_public_ports_only() -> None:
    """F-07: the sender is no POST proxy to any port of the internet."""
    for url in ("http://8.8.8.8/x", "https://8.8.8.8/x", "http://8.8.8.8:8080/x"):
        assert not resolve(url, []).private
    with pytest.raises(UnprocessableError) as refused:
        resolve("http://8.8.8.8:6379/", [])
    assert refused.value.detail == (
        "port 6379 is not open for webhooks; use one of 80, 443, 8080, 8443"
    )
    with pytest.raises(UnprocessableError):
        resolve("http://8.8.8.8/x", [], public_ports="443")
    resolve("https://8.8.8.8:9100/x", [], public_ports="443,9000-9999")
    # An allow-list entry for a public network opens its own ports besides.
    assert resolve("http://8.8.8.8:6379/", ["8.8.8.0/24:6379"]).private


def test_an_allowed_host_name_is_not_resolved() -> None:
    # An internal name that does not resolve here: allowing the name skips the address checks.
    allowed = parse_allow_list(["hooks.internal.example:8443"], DEFAULT_PUBLIC_PORTS)
    destination = resolve_destination("https://Hooks.Internal.Example:8443/in", allowed)
    assert (destination.host, destination.port, destination.addresses, destination.private) == (
        "hooks.internal.example",
        8443,
        (),
        True,
    )
    with pytest.raises(UnresolvableHostError):
        resolve("https://other.internal.example:8443/", ["hooks.internal.example:8443"])
    # On another port the name is not allowed: it is checked (and here cannot be resolved).
    with pytest.raises(UnresolvableHostError):
        resolve("https://hooks.internal.example/", ["hooks.internal.example:8443"])


@pytest.mark.parametrize(
    "url",
    [
        "http://8.8.8.8/hook",
        "https://1.1.1.1:8443/path?q=1",
        "http://[2001:4860:4860::8888]/hook",
    ],
)
def test_public_ip_literals_are_allowed(url: str) -> None:
    destination = resolve(url, [])
    assert destination.addresses
    assert not destination.private


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://8.8.8.8/file", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("gopher://8.8.8.8/", "http:// or https://"),
        ("javascript:alert(1)", "http:// or https://"),
        ("8.8.8.8/hook", "http:// or https://"),
        ("http://user:pw@8.8.8.8/hook", "credentials"),
        ("http://user@8.8.8.8/hook", "credentials"),
        ("http://@8.8.8.8/hook", "credentials"),
        ("http:///hook", "no host"),
        ("http://8.8.8.8:99999/", "not between 1 and 65535"),
        ("http://8.8.8.8:port/", "not a valid URL"),
        ("http://8.8.8.8/a b", "whitespace"),
        ("http://8.8.8.8\\@127.0.0.1/", "backslash"),
        ("http://" + "a" * 2048 + ".com/", "longer than 2048"),
    ],
)
def test_malformed_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(UnprocessableError) as refused:
        resolve(url, LOOPBACK_ALLOWED)
    assert message in refused.value.detail


def test_an_unresolvable_host_is_refused() -> None:
    with pytest.raises(UnresolvableHostError) as refused:
        resolve("https://no-such-host.invalid/hook", [])
    assert refused.value.detail == "cannot resolve the host no-such-host.invalid"
    assert refused.value.status_code == 422


def test_the_async_check_is_the_same_check() -> None:
    with pytest.raises(UnprocessableError):
        asyncio.run(check_destination_async("http://10.0.0.1/", [], DEFAULT_PUBLIC_PORTS))
    with pytest.raises(UnprocessableError):
        asyncio.run(check_destination_async("http://127.0.0.1:22/", LOOPBACK_ALLOWED, "80"))
    asyncio.run(check_destination_async("http://127.0.0.1/", LOOPBACK_ALLOWED, "443"))


def test_allow_list_entries_are_validated() -> None:
    allowed = parse_allow_list(
        [" 10.0.0.0/8:443 ", "[fd00::/8]:8000-8999", "192.168.1.5:80,8080", "Hooks.Example.:443"],
        "443",
    )
    assert [(str(n), str(p)) for n, p in allowed.networks] == [
        ("10.0.0.0/8", "443"),
        ("fd00::/8", "8000-8999"),
        ("192.168.1.5/32", "80, 8080"),
    ]
    assert [(h, str(p)) for h, p in allowed.hosts] == [("hooks.example", "443")]
    for bad, message in (
        ("10.0.0.0/8", "names no port"),
        ("hooks.example", "names no port"),
        ("fd00::/8:443", "in brackets"),
        ("[fd00::/8]", "ports after the bracket"),
        ("10.0.0.0/8:", "is not a port"),
        ("10.0.0.0/8:x", "is not a port"),
        ("10.0.0.0/8:0", "between 1 and 65535"),
        ("10.0.0.0/8:70000", "between 1 and 65535"),
        ("10.0.0.0/8:9-1", "between 1 and 65535"),
        ("10.0.0.1/8:443", "not a valid CIDR"),
        ("10.0.0.0/33:443", "not a valid CIDR"),
        ("300.1.1.1:443", "not a valid CIDR"),
        ("not a host:443", "neither"),
        ("http://x/", "is not a port"),
        ("", "names no port"),
    ):
        with pytest.raises(ValueError, match="VIGIL_WEBHOOK_ALLOWED_NETWORKS") as refused:
            parse_allow_list([bad], "443")
        assert message in str(refused.value), bad
