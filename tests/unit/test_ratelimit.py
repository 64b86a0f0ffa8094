"""The fixed-window arithmetic behind Retry-After, and what a per-address limit counts."""

from __future__ import annotations

import pytest

from api.ratelimit import address_bucket, network_bucket, window


@pytest.mark.parametrize(
    ("now", "period_s", "expected"),
    [
        (120.0, 60, (2, 60)),  # a window's first instant: the whole window is left
        (170.5, 60, (2, 10)),  # 9.5 s left rounds up: retrying earlier would be refused
        (179.2, 60, (2, 1)),
        (179.999, 60, (2, 1)),  # never 0: a client must not retry straight away
        (7200.0 + 1.5, 3600, (2, 3599)),
    ],
)
def test_window_number_and_whole_seconds_left(
    now: float, period_s: int, expected: tuple[int, int]
) -> None:
    assert window(now, period_s) == expected


def test_consecutive_instants_share_a_window_until_its_end() -> None:
    assert window(1_700_000_039.0, 60)[0] == window(1_700_000_040.0 - 1e-6, 60)[0]
    assert window(1_700_000_040.0, 60)[0] == window(1_700_000_039.0, 60)[0] + 1


@pytest.mark.parametrize(
    ("host", "bucket"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),  # the same /64: one budget
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),  # IPv4-mapped: the IPv4 client it is
        ("fe80::1%eth0", "fe80::/64"),
        ("testclient", "testclient"),
        (None, "unknown"),
    ],
)
def test_per_address_limits_count_ipv4_addresses_and_ipv6_64s(
    host: str | None, bucket: str
) -> None:
    assert address_bucket(host) == bucket


@pytest.mark.parametrize(
    ("host", "bucket"),
    [
        ("203.0.113.7", "203.0.113.0/24"),
        ("203.0.113.250", "203.0.113.0/24"),  # one /24: one guesser
        ("::ffff:203.0.113.7", "203.0.113.0/24"),
        ("2001:db8:1:ff::1", "2001:db8:1::/56"),
        ("2001:db8:1:100::1", "2001:db8:1:100::/56"),
        (None, "unknown"),
    ],
)
def test_sign_in_failures_count_per_ipv4_24_and_ipv6_56(host: str | None, bucket: str) -> None:
    """F-05: a client rotating addresses inside its own network stays one budget."""
    assert network_bucket(host) == bucket
