"""ICE servers of the live view: none unless configured, TURN credentials in coturn's REST scheme,
and never a credential in what is public."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from pydantic import ValidationError

from live.signaling import configuration
from shared.live.ice import ice_servers, public_urls, turn_credentials
from shared.settings import Settings

SECRET_KEY = "k3Jx9-vQ2mZ7pL0wR5tY8uN1bC4dF6gH"
TURN_SECRET = "north-turn-secret"


def settings(**values: object) -> Settings:
    return Settings(secret_key=SECRET_KEY, **values)  # type: ignore[arg-type]


def test_turn_credentials_follow_coturns_rest_scheme() -> None:
    username, credential = turn_credentials(TURN_SECRET, "user-1", 3600, now=1_800_000_000.7)
    assert username == "1800003600:user-1"
    # What coturn computes from the username with its static-auth-secret.
    expected = hmac.new(TURN_SECRET.encode(), username.encode(), hashlib.sha1).digest()
    assert credential == base64.b64encode(expected).decode()
    assert turn_credentials("another secret", "user-1", 3600, now=1_800_000_000)[1] != credential


def test_no_ice_server_by_default_and_the_peer_gets_an_empty_list_not_none() -> None:
    default = settings()
    assert ice_servers(default, "user-1") == []
    # None would make aiortc use a public STUN server.
    assert configuration(default, "process").iceServers == []


def test_turn_entries_get_ephemeral_credentials_and_others_keep_theirs() -> None:
    configured = settings(
        webrtc_ice_servers=[
            {"urls": "stun:stun.example.com:3478"},
            {"urls": ["turn:turn.example.com:3478", "turns:turn.example.com:5349"]},
            {"urls": "turn:fixed.example.com", "username": "u", "credential": "c"},
        ],
        webrtc_turn_secret=TURN_SECRET,
        webrtc_turn_ttl_s=600,
    )
    stun, turn, fixed = ice_servers(configured, "user-1", now=1_000)
    assert stun.as_dict() == {"urls": ["stun:stun.example.com:3478"]}
    assert turn.username == "1600:user-1"
    assert turn.credential == turn_credentials(TURN_SECRET, "user-1", 600, now=1_000)[1]
    assert (fixed.username, fixed.credential) == ("u", "c")
    peer = configuration(configured, "p1").iceServers
    assert peer is not None
    assert peer[0].username is None
    assert str(peer[1].username).endswith(":live-p1")
    assert (peer[2].username, peer[2].credential) == ("u", "c")
    public = public_urls(configured, turn=False) + public_urls(configured, turn=True)
    assert TURN_SECRET not in str(public)
    assert "c" not in public
    assert public_urls(configured, turn=False) == ["stun:stun.example.com:3478"]
    assert public_urls(configured, turn=True) == [
        "turn:turn.example.com:3478",
        "turns:turn.example.com:5349",
        "turn:fixed.example.com",
    ]


@pytest.mark.parametrize(
    "servers",
    [
        [{"urls": "http://stun.example.com"}],
        [{"urls": []}],
        # TURN wants credentials: fixed ones, or the secret for ephemeral ones.
        [{"urls": "turn:turn.example.com"}],
        # A username without its credential, or the other way round, is no login.
        [{"urls": "turn:turn.example.com", "username": "u"}],
        [{"urls": "stun:stun.example.com", "credential": "c"}],
    ],
)
def test_unusable_ice_servers_are_refused(servers: list[dict[str, object]]) -> None:
    with pytest.raises(ValidationError):
        settings(webrtc_ice_servers=servers)
