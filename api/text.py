"""Text from clients that is stored in Postgres.

Postgres refuses the NUL character in `text` and `jsonb` values, so a string holding one would
fail at the INSERT as a 500. Every such field refuses it up front with a 422 naming the field."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, StringConstraints

NUL = "\x00"
NUL_MESSAGE = "must not contain the NUL character (\\u0000)"
MAX_SHORT_TEXT = 200


def _refuse_nul(value: str) -> str:
    if NUL in value:
        raise ValueError(NUL_MESSAGE)
    return value


# Put it last in an Annotated: constraints placed after a validator lose their own messages
# ("String should have at most 200 characters").
NoNul = AfterValidator(_refuse_nul)
Text = Annotated[str, NoNul]
ShortText = Annotated[str, StringConstraints(max_length=MAX_SHORT_TEXT), NoNul]


def nul_location(value: Any, path: tuple[str | int, ...] = ()) -> tuple[str | int, ...] | None:
    """Where decoded JSON holds a NUL, in a string or an object key; None when nowhere."""
    if isinstance(value, str):
        return path if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = (*path, key) if NUL in key else nul_location(item, (*path, key))
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = nul_location(item, (*path, index))
            if found is not None:
                return found
    return None
