"""Licence-plate text: normalisation, regional formats and watchlist patterns. The API validates
a job's region and a user's watchlist with these; the worker reads plates with them.

A region is a list of regular expressions over normalised text (A-Z, 0-9). OCR confuses
look-alike characters (O/0, I/1, B/8, S/5, Z/2, G/6); where a format says a position is a
digit or a letter, the reading is corrected to the variant that fits, fewest changes first."""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

# Each format is matched whole. Sources: the UK DVLA formats (current, prefix, suffix and
# Northern Ireland), India's state series and BH series, common EU national formats, and for
# the US a letter-and-digit string of 2-8 without O or Q: most states issue neither on standard
# plates and print O and 0 alike, so an O read on a US plate is a zero.
DEFAULT_PLATE_FORMATS: dict[str, tuple[str, ...]] = {
    "uk": (
        r"[A-Z]{2}[0-9]{2}[A-Z]{3}",
        r"[A-Z][0-9]{1,3}[A-Z]{3}",
        r"[A-Z]{3}[0-9]{1,3}[A-Z]",
        r"[A-Z]{3}[0-9]{1,4}",
    ),
    "in": (
        r"[A-Z]{2}[0-9]{1,2}[A-Z]{0,3}[0-9]{4}",
        r"[0-9]{2}BH[0-9]{4}[A-Z]{1,2}",
    ),
    "eu": (
        r"[A-Z]{2}[0-9]{3}[A-Z]{2}",  # France, Italy
        r"[0-9]{4}[A-Z]{3}",  # Spain
        r"[A-Z]{1,3}[A-Z]{1,2}[0-9]{1,4}[EH]?",  # Germany, Austria (city, letters, number)
        r"[A-Z]{2,3}[0-9]{4,5}",  # Poland, Nordic countries
        r"[0-9][A-Z]{3}[0-9]{3}",  # Belgium
    ),
    "us": (r"(?=[A-Z]*[0-9])[A-NPR-Z0-9]{2,8}",),
}

# What OCR may have read instead of each character.
LOOKALIKES: dict[str, str] = {
    "O": "0",
    "Q": "0",
    "D": "0",
    "0": "O",
    "I": "1",
    "1": "I",
    "Z": "2",
    "2": "Z",
    "S": "5",
    "5": "S",
    "G": "6",
    "6": "G",
    "B": "8",
    "8": "B",
}
# More corrections than this and the reading is not trusted to be that plate.
MAX_SUBSTITUTIONS = 3
MAX_PLATE_LENGTH = 10
# The longest stored watchlist pattern (the column's width).
MAX_WATCH_PATTERN_LENGTH = 32

_NOT_PLATE_CHARS = re.compile(r"[^A-Z0-9]")
_WATCH_PATTERN = re.compile(r"[A-Z0-9*?]+")
_UNFORMATTED_PLATE = re.compile(r"(?=[A-Z]*[0-9])[A-Z0-9]{4,10}")

PlateFormats = Mapping[str, Sequence[str]]


@dataclass(frozen=True, slots=True)
class PlateMatch:
    """A reading as a plate: its corrected text, the region whose format it fits (None where
    no region was asked for and none fits) and how many characters were corrected."""

    text: str
    region: str | None
    substitutions: int


def _ascii_upper(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().upper()


def normalise_plate(text: str) -> str:
    """Upper-case A-Z and 0-9 only: accents folded, separators, spaces and symbols dropped."""
    return _NOT_PLATE_CHARS.sub("", _ascii_upper(text))


@lru_cache(maxsize=256)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(pattern) for pattern in patterns)


def configured_formats(formats: PlateFormats | None) -> PlateFormats:
    """The operator's formats (VIGIL_PLATE_FORMATS), or the built-in ones where none are set."""
    return DEFAULT_PLATE_FORMATS if formats is None else formats


def check_formats(formats: PlateFormats) -> None:
    """Raise ValueError naming the first region whose pattern does not compile."""
    for region, patterns in formats.items():
        try:
            _compiled(tuple(patterns))
        except re.error as exc:
            raise ValueError(f"plate format for region {region!r} is not a regex: {exc}") from exc


def _variants(text: str) -> itertools.chain[tuple[int, str]]:
    """`text` with 0, 1, 2, … look-alike characters swapped, fewest swaps first."""
    ambiguous = [i for i, char in enumerate(text) if char in LOOKALIKES]

    def swapped(count: int) -> list[tuple[int, str]]:
        out = []
        for positions in itertools.combinations(ambiguous, count):
            chars = list(text)
            for i in positions:
                chars[i] = LOOKALIKES[chars[i]]
            out.append((count, "".join(chars)))
        return out

    return itertools.chain.from_iterable(
        swapped(n) for n in range(min(MAX_SUBSTITUTIONS, len(ambiguous)) + 1)
    )


def resolve_plate(text: str, formats: PlateFormats, region: str | None) -> PlateMatch | None:
    """The reading as a plate of `region`, or with None of the first configured region whose
    formats it fits (the order of the formats is the operator's priority). None when it is no
    plate: empty or too long, fitting no format of the region asked for, or, with no region
    asked for and no format fitting, not even 4-10 letters and digits with a digit among them
    (a reading kept as read, with region None)."""
    plate = normalise_plate(text)
    if not plate or len(plate) > MAX_PLATE_LENGTH:
        return None
    for name in [region] if region is not None else list(formats):
        patterns = _compiled(tuple(formats.get(name, ())))
        for substitutions, candidate in _variants(plate):
            if any(pattern.fullmatch(candidate) for pattern in patterns):
                return PlateMatch(candidate, name, substitutions)
    if region is None and _UNFORMATTED_PLATE.fullmatch(plate):
        return PlateMatch(plate, None, 0)
    return None


WatchKind = Literal["exact", "pattern"]


def normalise_watch_pattern(text: str, kind: WatchKind) -> str:
    """A watchlist entry as stored: an exact plate normalised, or a pattern of A-Z, 0-9, `*`
    (any run of characters) and `?` (one character), upper-cased with separators dropped.
    Raises ValueError for an entry that could match nothing or everything, or that is longer
    than a plate (exact) or than a stored pattern."""
    upper = _ascii_upper(text)
    if kind == "exact":
        # Dropped as separators, they would leave a different plate than the one meant.
        if any(char in upper for char in "*?"):
            raise ValueError('* and ? are wildcards: send kind "pattern" to use them')
        stored = normalise_plate(upper)
        if not stored:
            raise ValueError("a plate needs at least one letter or digit")
        # Plates are read up to MAX_PLATE_LENGTH long, so a longer exact entry never matches.
        limit = MAX_PLATE_LENGTH
    else:
        stored = re.sub(r"[^A-Z0-9*?]", "", upper)
        if not _WATCH_PATTERN.fullmatch(stored) or not re.search(r"[A-Z0-9]", stored):
            raise ValueError("a pattern needs at least one letter or digit besides * and ?")
        limit = MAX_WATCH_PATTERN_LENGTH
    if len(stored) > limit:
        raise ValueError(f"a {kind} entry has at most {limit} characters, not {len(stored)}")
    return stored


def watch_matches(plate: str, pattern: str, kind: WatchKind) -> bool:
    """Whether a read plate (normalised) matches a stored watchlist entry."""
    if kind == "exact":
        return plate == pattern
    regex = "".join(".*" if c == "*" else "." if c == "?" else c for c in pattern)
    return re.fullmatch(regex, plate) is not None
