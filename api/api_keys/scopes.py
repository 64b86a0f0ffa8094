"""What an API key may do. Bearer tokens hold every scope.

- `read`: every key has it; GET and HEAD routes (job status, results, annotated output, events,
  lists, the profile).
- `write`: submit and delete jobs, change the watchlist and the profile.
- `admin`: manage API keys and webhooks, the callback secret, the password; the way a leaked key
  could outlast its revocation or redirect results elsewhere, so it is never a default.

Stored space-separated (as OAuth scopes are) in `ApiKey.scopes`, in the order above."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, get_args

Scope = Literal["read", "write", "admin"]
ORDER: tuple[Scope, ...] = get_args(Scope)
# What a key made without `scopes` gets, and what keys made before scopes existed have: enough
# for the upload scripts keys are for, nothing that manages credentials or destinations.
DEFAULT: frozenset[Scope] = frozenset({"read", "write"})


def normalise(requested: Iterable[Scope]) -> frozenset[Scope]:
    """The requested scopes plus `read`, which every key has."""
    return frozenset(requested) | {"read"}


def dump(scopes: Iterable[Scope]) -> str:
    held = set(scopes)
    return " ".join(scope for scope in ORDER if scope in held)


def parse(stored: str) -> list[Scope]:
    """The scopes of a stored string, in canonical order; unknown words are ignored, so a
    scope removed in a later version grants nothing."""
    words = set(stored.split())
    return [scope for scope in ORDER if scope in words]
