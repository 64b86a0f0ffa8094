"""The ICE servers of the live view, from VIGIL_WEBRTC_ICE_SERVERS: none by default, so that
neither browsers nor the live service contact a public STUN server unasked.

TURN credentials are ephemeral when VIGIL_WEBRTC_TURN_SECRET is set, in coturn's REST scheme
(`use-auth-secret` with `static-auth-secret`): the username is `{expiry}:{user}` (expiry in Unix
seconds) and the credential base64(HMAC-SHA1(secret, username)). coturn recomputes the
credential from the username and refuses it once the expiry has passed; the secret itself
never leaves the server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

from shared.settings import Settings


@dataclass(frozen=True)
class IceServer:
    """An RTCIceServer as browsers and aiortc take it."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None

    def as_dict(self) -> dict[str, object]:
        entry: dict[str, object] = {"urls": list(self.urls)}
        if self.username is not None:
            entry["username"] = self.username
        if self.credential is not None:
            entry["credential"] = self.credential
        return entry


def turn_credentials(secret: str, user: str, ttl_s: int, now: float) -> tuple[str, str]:
    """(username, credential) valid for `ttl_s` seconds from `now`, in coturn's REST scheme."""
    username = f"{int(now) + ttl_s}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(settings: Settings, user: str, now: float | None = None) -> list[IceServer]:
    """The configured servers for `user` (a user id, or the live service's own name): fixed
    credentials as configured (the same for every user), ephemeral ones for TURN entries
    without a username."""
    secret = settings.webrtc_turn_secret
    moment = time.time() if now is None else now
    servers = []
    for server in settings.webrtc_ice_servers:
        username = server.username
        credential = server.credential.get_secret_value() if server.credential else None
        if username is None and secret is not None and server.is_turn:
            username, credential = turn_credentials(
                secret.get_secret_value(), user, settings.webrtc_turn_ttl_s, moment
            )
        servers.append(IceServer(tuple(server.urls), username, credential))
    return servers


def public_urls(settings: Settings, *, turn: bool) -> list[str]:
    """The URLs of the configured TURN servers (`turn`) or the others (STUN), without any
    credential: what anyone may be told."""
    return [
        url
        for server in settings.webrtc_ice_servers
        if server.is_turn == turn
        for url in server.urls
    ]
