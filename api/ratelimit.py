"""Fixed-window rate limits counted in Redis.

One counter per rule, identity and window, counted by a Lua script (INCR and EXPIRE) that takes
every check of a request at once: the middleware counts the client's address together with the
credential it presents (RateLimitMiddleware), so an authenticated request costs one round trip;
a valid credential therefore counts wherever the request goes, authenticated route or not.
A request over a limit gets 429 with Retry-After (the seconds until its window ends). Fixed
windows let a client send up to twice a limit across a window boundary; that is the price of
one key per check. When Redis is unreachable the limits fail open, with a warning: losing the
counters must not take the API down with them.

Every API process counts in the same Redis, so the limits hold across replicas; the window
is taken from each process's clock, so keep them NTP-synchronised."""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis
from fastapi import Request
from redis.exceptions import NoScriptError, RedisError
from starlette.types import ASGIApp, Receive, Scope, Send

from api.client_address import client_address
from api.errors import error_response
from shared.errors import RateLimitedError
from shared.settings import Settings, get_settings

logger = logging.getLogger(__name__)

# Liveness is never throttled: it touches nothing, and throttling it would make a busy API look
# dead. The other health checks need no credentials, so they have a generous budget of their
# own, apart from the one every other request spends. /metrics is not exempt: a scraper polls
# it far below the per-address limit, and unlimited, each scrape (a Redis read per family) is a
# cheap way to load the API and Redis.
UNLIMITED_PATHS = frozenset({"/api/v1/health/live"})
HEALTH_PATHS = frozenset({"/api/v1/health", "/api/v1/health/ready"})
WARN_EVERY_S = 60.0


@dataclass(frozen=True)
class Rule:
    name: str
    limit: Callable[[Settings], int]
    period_s: int
    # Completes "more than <limit> ..." in the 429's detail.
    counts: str


PER_IP = Rule(
    "ip",
    lambda s: s.rate_limit_ip_per_minute,
    60,
    "requests per minute from this address",
)
PER_IP_HEALTH = Rule(
    "health",
    lambda s: s.rate_limit_health_per_minute,
    60,
    "health checks per minute from this address",
)
PER_USER = Rule(
    "user",
    lambda s: s.rate_limit_user_per_minute,
    60,
    "requests per minute for this user",
)
PER_API_KEY = Rule(
    "api_key",
    lambda s: s.rate_limit_api_key_per_minute,
    60,
    "requests per minute with this API key",
)
AUTH_PER_IP = Rule(
    "auth",
    lambda s: s.rate_limit_auth_per_minute,
    60,
    "sign-up, sign-in and token-refresh requests per minute from this address",
)
# Failed sign-ins only: a right password never counts, so nobody can spend an owner's budget.
SIGNIN_FAILURES_PER_NETWORK = Rule(
    "signin_network",
    lambda s: s.rate_limit_signin_failures_per_network_per_hour,
    3600,
    "per hour at this account from this network",
)
SIGNIN_FAILURES_PER_ACCOUNT = Rule(
    "signin_account",
    lambda s: s.rate_limit_signin_per_account_per_hour,
    3600,
    "per hour at this account, and this network has failed it",
)


# One IPv6 client usually holds a whole /64 (SLAAC, privacy addresses): counting per address
# would hand it 2**64 budgets.
IPV6_PREFIX = 64
# Sign-in failures are counted per network: a /24 or a /56 (what one site or subscriber
# usually gets) is one guesser, however many addresses it rotates through.
SIGNIN_IPV4_PREFIX = 24
SIGNIN_IPV6_PREFIX = 56


def _bucket(host: str | None, ipv4_prefix: int, ipv6_prefix: int) -> str:
    """The network of `host` (IPv4-mapped addresses as IPv4), a bare address when the prefix
    covers all of it; anything unparsable as it is."""
    if host is None:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = ipv4_prefix if address.version == 4 else ipv6_prefix
    if prefix == address.max_prefixlen:
        return str(address)
    return str(ipaddress.ip_network((address, prefix), strict=False))


def address_bucket(host: str | None) -> str:
    """What a per-address limit counts: an IPv4 address itself, the /64 of an IPv6 address."""
    return _bucket(host, 32, IPV6_PREFIX)


def network_bucket(host: str | None) -> str:
    """The network a sign-in failure is counted against: a /24 or a /56."""
    return _bucket(host, SIGNIN_IPV4_PREFIX, SIGNIN_IPV6_PREFIX)


def window(now: float, period_s: int) -> tuple[int, int]:
    """The number of the fixed window `now` (unix seconds) falls in, and the whole seconds
    until that window ends, at least 1 so that a client never retries straight away."""
    number = int(now // period_s)
    return number, max(1, math.ceil((number + 1) * period_s - now))


class _Warner:
    """At most one warning a minute while Redis is down, not one per request."""

    def __init__(self) -> None:
        self.last = -math.inf

    def __call__(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self.last >= WARN_EVERY_S:
            self.last = now
            logger.warning("rate limits not enforced: Redis is unreachable (%s)", exc)


_warn_unreachable = _Warner()


# Counts a request against each key in turn and stops at the first one over its limit
# (ARGV: limit and period of each key): the checks as they would run one after another, a
# request refused by one limit not counted by the next. Returns the 1-based index of the
# refusing check, 0 when none refused.
_HIT_SCRIPT = """
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  redis.call('EXPIRE', key, ARGV[2 * i])
  if count > tonumber(ARGV[2 * i - 1]) then
    return i
  end
end
return 0
"""
# Redis names scripts by their SHA-1 (EVALSHA): an identifier, not a safeguard.
_HIT_SHA = hashlib.sha1(_HIT_SCRIPT.encode(), usedforsecurity=False).hexdigest()

Check = tuple[Rule, str]
# The request state's record of what the middleware counted, as (rule name, identity) pairs,
# so that the authentication dependency does not count the same credential twice.
COUNTED_STATE_KEY = "rate_limits_counted"


async def _count(redis: aioredis.Redis, keys: list[str], args: list[int]) -> int:
    try:
        refused: int = await redis.evalsha(_HIT_SHA, len(keys), *keys, *args)
    except NoScriptError:
        # Not in this Redis's script cache yet (a restart flushes it): EVAL loads it.
        refused = await redis.eval(_HIT_SCRIPT, len(keys), *keys, *args)
    return refused


async def hit_all(redis: aioredis.Redis, checks: Sequence[Check]) -> None:
    """Count one request against each (rule, identity), in order, in one round trip;
    RateLimitedError for the first that is over its limit."""
    settings = get_settings()
    if not settings.rate_limit_enabled or not checks:
        return
    now = time.time()
    keys, args = [], []
    for rule, identity in checks:
        number, _ = window(now, rule.period_s)
        # The key names its window, so it only lingers a period; EXPIRE is refreshed anyway.
        keys.append(f"ratelimit:{rule.name}:{identity}:{number}")
        args += [rule.limit(settings), rule.period_s]
    try:
        refused = await _count(redis, keys, args)
    except (RedisError, OSError) as exc:
        _warn_unreachable(exc)
        return
    if refused:
        rule = checks[refused - 1][0]
        limit = rule.limit(settings)
        _, retry_after = window(now, rule.period_s)
        raise RateLimitedError(
            f"too many requests (more than {limit} {rule.counts}); retry in {retry_after} s",
            limit=limit,
            retry_after=retry_after,
        )


async def hit(redis: aioredis.Redis, rule: Rule, identity: str) -> None:
    """Count one request of `identity` against `rule`; RateLimitedError once it is over."""
    await hit_all(redis, [(rule, identity)])


async def hit_uncounted(request: Request, rule: Rule, identity: str) -> None:
    """`hit`, unless the middleware counted this request against it already."""
    counted: frozenset[tuple[str, str]] = getattr(request.state, COUNTED_STATE_KEY, frozenset())
    if (rule.name, identity) not in counted:
        await hit(_redis(request), rule, identity)


def _redis(request: Request) -> aioredis.Redis:
    client: aioredis.Redis = request.app.state.redis
    return client


async def limit_auth_by_ip(request: Request) -> None:
    """Route dependency of sign-up, sign-in and token refresh: the brute-force guard."""
    await hit(_redis(request), AUTH_PER_IP, address_bucket(client_address(request.scope)))


@dataclass(frozen=True)
class SigninGuard:
    """Failed sign-ins at one account, counted per client network and for the account as a
    whole. A network over its own budget is refused; once the account's budget is spent (a
    distributed attack), so is every network that has failed at it. A network that has not
    failed, like the owner's, still gets in with the right password.

    The counts are read before the password is checked and raised after it failed, so a burst
    of concurrent guesses can pass the check together: the per-address auth limit bounds it."""

    redis: aioredis.Redis
    account: str
    network: str

    @classmethod
    def of(cls, request: Request, email: str) -> SigninGuard:
        # Hashed so that the counters hold no e-mail addresses.
        account = hashlib.sha256(email.lower().encode()).hexdigest()[:32]
        return cls(_redis(request), account, network_bucket(client_address(request.scope)))

    def _keys(self) -> tuple[str, str]:
        number, _ = window(time.time(), SIGNIN_FAILURES_PER_ACCOUNT.period_s)
        return (
            f"ratelimit:{SIGNIN_FAILURES_PER_NETWORK.name}:{self.account}:{self.network}:{number}",
            f"ratelimit:{SIGNIN_FAILURES_PER_ACCOUNT.name}:{self.account}:{number}",
        )

    async def check(self) -> None:
        """RateLimitedError when this network may not try this account now."""
        settings = get_settings()
        if not settings.rate_limit_enabled:
            return
        try:
            from_network, in_all = await self.redis.mget(self._keys())
        except (RedisError, OSError) as exc:
            _warn_unreachable(exc)
            return
        network_failures, account_failures = int(from_network or 0), int(in_all or 0)
        network_limit = SIGNIN_FAILURES_PER_NETWORK.limit(settings)
        account_limit = SIGNIN_FAILURES_PER_ACCOUNT.limit(settings)
        if network_failures >= network_limit:
            raise _too_many_failures(SIGNIN_FAILURES_PER_NETWORK, network_limit)
        if network_failures and account_failures >= account_limit:
            raise _too_many_failures(SIGNIN_FAILURES_PER_ACCOUNT, account_limit)

    async def record_failure(self) -> None:
        if not get_settings().rate_limit_enabled:
            return
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                for key in self._keys():
                    pipe.incr(key)
                    pipe.expire(key, SIGNIN_FAILURES_PER_ACCOUNT.period_s)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            _warn_unreachable(exc)


def _too_many_failures(rule: Rule, limit: int) -> RateLimitedError:
    _, retry_after = window(time.time(), rule.period_s)
    return RateLimitedError(
        f"too many failed sign-ins ({limit} {rule.counts}); retry in {retry_after} s",
        limit=limit,
        retry_after=retry_after,
    )


class RateLimitMiddleware:
    """Counts every request against its client address before routing, so unknown paths and
    failed authentications count too, and, in the same round trip, against the limits of the
    credential it presents (`caller_checks`, api/deps.py). Pure ASGI: streaming responses pass
    untouched."""

    def __init__(self, app: ASGIApp, caller_checks: Callable[[Scope], list[Check]]) -> None:
        self.app = app
        self.caller_checks = caller_checks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in UNLIMITED_PATHS:
            rule = PER_IP_HEALTH if scope["path"] in HEALTH_PATHS else PER_IP
            checks = [(rule, address_bucket(client_address(scope))), *self.caller_checks(scope)]
            try:
                await hit_all(scope["app"].state.redis, checks)
            except RateLimitedError as exc:
                response = error_response(exc.status_code, exc.code, exc.detail, exc.headers)
                await response(scope, receive, send)
                return
            state: dict[str, object] = scope.setdefault("state", {})
            state[COUNTED_STATE_KEY] = frozenset((check.name, who) for check, who in checks)
        await self.app(scope, receive, send)
