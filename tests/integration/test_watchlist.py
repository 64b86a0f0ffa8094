"""The plate watchlist's REST API and its queries, against the real API and Postgres."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from tortoise import Tortoise

from shared.db.config import tortoise_config
from shared.plates import WatchKind
from shared.repositories import watchlist as repo
from tests.conftest import TEST_ENV
from tests.integration.conftest import db_fetch, signup_and_signin


def _add(client: httpx.Client, headers: dict[str, str], **body: Any) -> httpx.Response:
    return client.post("/watchlist", json=body, headers=headers)


def _user_id(client: httpx.Client, headers: dict[str, str]) -> uuid.UUID:
    return uuid.UUID(client.get("/me", headers=headers).json()["id"])


def test_entries_are_stored_normalised_and_listed_oldest_first(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    exact = _add(client, auth, plate=" ka-22 p 3368 ", label="stolen, report to desk")
    assert exact.status_code == 201, exact.text
    body = exact.json()
    assert body.keys() == {"id", "kind", "pattern", "label", "created_at"}
    assert (body["kind"], body["pattern"], body["label"]) == (
        "exact",
        "KA22P3368",
        "stolen, report to desk",
    )
    pattern = _add(client, auth, plate="sn66*", kind="pattern")
    assert pattern.status_code == 201, pattern.text
    assert (pattern.json()["kind"], pattern.json()["pattern"]) == ("pattern", "SN66*")
    assert pattern.json()["label"] is None

    listed = client.get("/watchlist", headers=auth)
    assert listed.status_code == 200
    assert [entry["id"] for entry in listed.json()] == [body["id"], pattern.json()["id"]]
    (row,) = db_fetch(
        "SELECT kind, pattern, owner_id FROM watchlist_entries WHERE id = $1",
        uuid.UUID(body["id"]),
    )
    assert (row["kind"], row["pattern"]) == ("exact", "KA22P3368")
    assert row["owner_id"] == _user_id(client, auth)


def test_duplicates_are_refused_after_normalisation(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    assert _add(client, auth, plate="SN66 XMZ").status_code == 201
    again = _add(client, auth, plate="sn66-xmz", label="another note")
    assert again.status_code == 409
    assert again.json()["error"] == "conflict"
    assert "SN66XMZ" in again.json()["detail"]
    # The same text as a pattern is another entry.
    assert _add(client, auth, plate="SN66XMZ", kind="pattern").status_code == 201
    # Duplicates are per user.
    assert _add(client, signup_and_signin(client), plate="SN66XMZ").status_code == 201
    assert len(client.get("/watchlist", headers=auth).json()) == 2


def test_concurrent_duplicates_add_one_entry(client: httpx.Client, auth: dict[str, str]) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: _add(client, auth, plate="RACE1").status_code, range(8)))
    assert sorted(statuses) == [201] + [409] * 7
    assert len(client.get("/watchlist", headers=auth).json()) == 1


def test_invalid_entries_are_422_naming_the_field(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    for body, field in (
        ({"plate": "***", "kind": "pattern"}, "plate"),
        ({"plate": "?*", "kind": "pattern"}, "plate"),
        ({"plate": ""}, "plate"),
        ({"plate": " - . "}, "plate"),
        ({"plate": "SN66*"}, "plate"),  # wildcards in an exact plate
        ({"plate": "AB12345678901"}, "plate"),  # longer than any plate read
        ({"plate": "A" * 33 + "*", "kind": "pattern"}, "plate"),
        ({"plate": "SN66XMZ", "kind": "fuzzy"}, "kind"),
        ({"plate": "SN66XMZ", "label": "x" * 201}, "label"),
        ({"plate": "SN66XMZ", "colour": "red"}, "colour"),
        ({"kind": "exact"}, "plate"),
    ):
        response = _add(client, auth, **body)
        assert response.status_code == 422, body
        assert response.json()["error"] == "validation_error"
        assert [f["field"] for f in response.json()["fields"]] == [field], body
    empty = _add(client, auth, plate="").json()
    assert "plate: " in empty["detail"]
    assert "at least one letter or digit" in empty["detail"]
    assert client.get("/watchlist", headers=auth).json() == []


def test_entries_are_private_to_their_owner(client: httpx.Client, auth: dict[str, str]) -> None:
    entry_id = _add(client, auth, plate="KA22P3368").json()["id"]
    intruder = signup_and_signin(client)
    assert client.get("/watchlist", headers=intruder).json() == []
    refused = client.delete(f"/watchlist/{entry_id}", headers=intruder)
    assert refused.status_code == 404
    assert refused.json()["error"] == "not_found"
    # An unknown id answers exactly like someone else's.
    unknown = client.delete(f"/watchlist/{uuid.uuid4()}", headers=intruder)
    assert unknown.status_code == 404
    assert [entry["id"] for entry in client.get("/watchlist", headers=auth).json()] == [entry_id]


def test_delete_removes_the_entry(client: httpx.Client, auth: dict[str, str]) -> None:
    entry_id = _add(client, auth, plate="SN66*", kind="pattern").json()["id"]
    deleted = client.delete(f"/watchlist/{entry_id}", headers=auth)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert client.get("/watchlist", headers=auth).json() == []
    assert client.delete(f"/watchlist/{entry_id}", headers=auth).status_code == 404
    # Deleted, it can be added again.
    assert _add(client, auth, plate="SN66*", kind="pattern").status_code == 201
    malformed = client.delete("/watchlist/not-a-uuid", headers=auth)
    assert malformed.status_code == 422
    assert malformed.json()["fields"][0]["field"] == "path.entry_id"


def test_watchlist_requires_authentication(client: httpx.Client, auth: dict[str, str]) -> None:
    entry_id = _add(client, auth, plate="SN66XMZ").json()["id"]
    for method, url, body in (
        ("POST", "/watchlist", {"plate": "SN66XMZ"}),
        ("GET", "/watchlist", None),
        ("DELETE", f"/watchlist/{entry_id}", None),
    ):
        response = client.request(method, url, json=body)
        assert response.status_code == 401, (method, url)
        assert response.headers["www-authenticate"] == "Bearer"
    assert len(client.get("/watchlist", headers=auth).json()) == 1


def test_a_full_watchlist_refuses_more(client: httpx.Client, auth: dict[str, str]) -> None:
    # Filled in SQL: a thousand requests would only test the same path a thousand times.
    db_fetch(
        "INSERT INTO watchlist_entries (id, kind, pattern, created_at, owner_id) "
        "SELECT gen_random_uuid(), 'exact', 'FILL' || i, now(), $1 "
        "FROM generate_series(1, $2::int) i",
        _user_id(client, auth),
        repo.MAX_ENTRIES_PER_USER - 1,
    )
    assert _add(client, auth, plate="LAST1").status_code == 201
    full = _add(client, auth, plate="ONEMORE")
    assert full.status_code == 409
    assert f"full ({repo.MAX_ENTRIES_PER_USER} entries)" in full.json()["detail"]
    assert len(client.get("/watchlist", headers=auth).json()) == repo.MAX_ENTRIES_PER_USER
    # Deleting one makes room again.
    first = client.get("/watchlist", headers=auth).json()[0]["id"]
    assert client.delete(f"/watchlist/{first}", headers=auth).status_code == 204
    assert _add(client, auth, plate="ONEMORE").status_code == 201


def test_entries_for_matching_gives_the_owners_entries(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    _add(client, auth, plate="KA 22 P 3368", label="stolen")
    _add(client, auth, plate="SN66*", kind="pattern")
    _add(client, signup_and_signin(client), plate="OTHER1")
    owner_id = _user_id(client, auth)

    async def entries() -> list[tuple[WatchKind, str, str | None]]:
        await Tortoise.init(config=tortoise_config(TEST_ENV["VIGIL_DATABASE_URL"]))
        try:
            return await repo.entries_for_matching(owner_id)
        finally:
            await Tortoise.close_connections()

    assert asyncio.run(entries()) == [
        ("exact", "KA22P3368", "stolen"),
        ("pattern", "SN66*", None),
    ]
