"""The web console's sign-in against the real API: the refresh token only ever in an HttpOnly,
SameSite=Strict cookie on the browser sign-in path, rotated on refresh, its reuse ending the
session, sign-out revoking it, and the console's header required on every route."""

from __future__ import annotations

import uuid
from http.cookies import SimpleCookie

import httpx

from shared.settings import get_settings
from tests.integration.conftest import PASSWORD, api_process

BROWSER = "/auth/browser"
CONSOLE = {"X-Requested-With": "vigil-console"}
COOKIE_PATH = "/api/v1/auth/browser"


def _account(client: httpx.Client) -> str:
    email = f"browser-{uuid.uuid4().hex[:8]}@example.com"
    assert (
        client.post("/auth/signup", json={"email": email, "password": PASSWORD}).status_code == 201
    )
    return email


def _signin(client: httpx.Client, email: str, headers: dict[str, str] = CONSOLE) -> httpx.Response:
    return client.post(
        f"{BROWSER}/signin", data={"username": email, "password": PASSWORD}, headers=headers
    )


def _cookies(response: httpx.Response) -> dict[str, dict[str, str]]:
    """Each Set-Cookie of the answer by name: its value and attributes (flags as "")."""
    found: dict[str, dict[str, str]] = {}
    for header in response.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            attributes = {key: str(value) for key, value in morsel.items() if value}
            found[name] = {"value": morsel.value, **attributes}
        flags = {part.strip().lower() for part in header.split(";")[1:]}
        name = header.split("=", 1)[0]
        for flag in ("httponly", "secure"):
            found[name][flag] = "yes" if flag in flags else ""
    return found


def _refresh(client: httpx.Client, cookie: str | None) -> httpx.Response:
    headers = dict(CONSOLE)
    if cookie is not None:
        headers["Cookie"] = f"vigil_refresh={cookie}"
    return client.post(f"{BROWSER}/refresh", headers=headers)


def _assert_cleared(response: httpx.Response) -> None:
    cookies = _cookies(response)
    assert cookies["vigil_refresh"]["value"] == ""
    assert cookies["vigil_refresh"]["max-age"] == "0"
    assert cookies["vigil_refresh"]["path"] == COOKIE_PATH
    assert cookies["vigil_session"]["max-age"] == "0"


def test_sign_in_sets_an_http_only_cookie_and_answers_the_access_token_alone(
    client: httpx.Client,
) -> None:
    email = _account(client)
    response = _signin(client, email)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert response.headers["cache-control"] == "no-store"
    cookies = _cookies(response)
    refresh = cookies["vigil_refresh"]
    # The refresh token is in the cookie, and nowhere in the body.
    assert refresh["value"].count(".") == 2
    assert refresh["value"] not in response.text
    assert refresh["httponly"] == "yes"
    assert refresh["samesite"].lower() == "strict"
    assert refresh["path"] == COOKIE_PATH
    assert refresh["secure"] == ""  # plain HTTP here
    # Max-Age: the refresh token's life (the session's maximum age caps it).
    settings = get_settings()
    life = min(settings.refresh_token_ttl_s, settings.session_max_age_s)
    assert life - 60 <= int(refresh["max-age"]) <= life
    # The page's hint that a session exists holds no secret and is readable by the page.
    hint = cookies["vigil_session"]
    assert hint["value"] == "1"
    assert hint["httponly"] == ""
    assert hint["path"] == "/"
    assert hint["samesite"].lower() == "strict"
    assert int(hint["max-age"]) == int(refresh["max-age"])
    # The access token is an ordinary bearer token.
    me = client.get("/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["email"] == email


def test_refresh_rotates_the_cookie_and_a_reused_one_ends_the_session(
    client: httpx.Client,
) -> None:
    email = _account(client)
    first = _cookies(_signin(client, email))["vigil_refresh"]["value"]

    rotated = _refresh(client, first)
    assert rotated.status_code == 200, rotated.text
    assert set(rotated.json()) == {"access_token", "token_type", "expires_in"}
    second = _cookies(rotated)["vigil_refresh"]["value"]
    assert second != first
    assert second not in rotated.text
    access = rotated.json()["access_token"]
    assert client.get("/me", headers={"Authorization": f"Bearer {access}"}).status_code == 200

    # The rotated-out cookie comes back: it may have been stolen, so the session ends.
    reused = _refresh(client, first)
    assert reused.status_code == 401
    assert "already used" in reused.json()["detail"]
    _assert_cleared(reused)
    assert _refresh(client, second).status_code == 401


def test_refresh_without_a_valid_cookie_is_refused_and_clears_it(client: httpx.Client) -> None:
    for cookie in (None, "", "not-a-token", "x" * 5000):
        refused = _refresh(client, cookie)
        assert refused.status_code == 401, cookie
        assert refused.json()["error"] == "not_authenticated"
        assert refused.headers["cache-control"] == "no-store"
        _assert_cleared(refused)


def test_every_browser_route_requires_the_console_header(client: httpx.Client) -> None:
    email = _account(client)
    cookie = _cookies(_signin(client, email))["vigil_refresh"]["value"]
    for headers in ({}, {"X-Requested-With": "XMLHttpRequest"}):
        signin = client.post(
            f"{BROWSER}/signin", data={"username": email, "password": "wrong"}, headers=headers
        )
        # Refused before the password is checked: no failed sign-in is counted.
        assert signin.status_code == 403, signin.text
        assert "set-cookie" not in signin.headers
        for route in ("refresh", "signout"):
            refused = client.post(
                f"{BROWSER}/{route}", headers={**headers, "Cookie": f"vigil_refresh={cookie}"}
            )
            assert refused.status_code == 403, route
            assert "set-cookie" not in refused.headers
    # The session was left alone.
    assert _refresh(client, cookie).status_code == 200


def test_sign_out_ends_the_session_and_clears_the_cookies(client: httpx.Client) -> None:
    email = _account(client)
    signed_in = _signin(client, email)
    cookie = _cookies(signed_in)["vigil_refresh"]["value"]
    access = signed_in.json()["access_token"]

    out = client.post(
        f"{BROWSER}/signout", headers={**CONSOLE, "Cookie": f"vigil_refresh={cookie}"}
    )
    assert out.status_code == 204
    assert out.headers["cache-control"] == "no-store"
    _assert_cleared(out)
    assert _refresh(client, cookie).status_code == 401
    # Access tokens already issued run out on their own, as with /auth/signout.
    assert client.get("/me", headers={"Authorization": f"Bearer {access}"}).status_code == 200
    # Nothing left to end: still 204, the cookies cleared all the same.
    again = client.post(f"{BROWSER}/signout", headers=CONSOLE)
    assert again.status_code == 204
    _assert_cleared(again)


def test_cookies_are_secure_when_the_client_came_over_https(client: httpx.Client) -> None:
    email = _account(client)
    # No trusted proxy: a client's own X-Forwarded-Proto is not believed.
    claimed = _signin(client, email, {**CONSOLE, "X-Forwarded-Proto": "https"})
    assert _cookies(claimed)["vigil_refresh"]["secure"] == ""
    with (
        api_process("browser-proxy", {"VIGIL_TRUSTED_PROXIES": '["127.0.0.1/32"]'}) as api,
        httpx.Client(base_url=f"{api.base_url}/api/v1", timeout=60) as proxied,
    ):
        behind = _signin(proxied, email, {**CONSOLE, "X-Forwarded-Proto": "https"})
        assert behind.status_code == 200, behind.text
        cookies = _cookies(behind)
        assert cookies["vigil_refresh"]["secure"] == "yes"
        assert cookies["vigil_session"]["secure"] == "yes"
        plain = _signin(proxied, email, {**CONSOLE, "X-Forwarded-Proto": "http"})
        assert _cookies(plain)["vigil_refresh"]["secure"] == ""
