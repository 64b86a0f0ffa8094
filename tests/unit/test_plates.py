"""Plate text: normalisation, reading plates of a region, watchlist patterns."""

from __future__ import annotations

from typing import get_args

import pytest

from shared.db.enums import WatchlistKind
from shared.plates import (
    DEFAULT_PLATE_FORMATS,
    MAX_PLATE_LENGTH,
    MAX_WATCH_PATTERN_LENGTH,
    PlateMatch,
    WatchKind,
    check_formats,
    normalise_plate,
    normalise_watch_pattern,
    resolve_plate,
    watch_matches,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("KA-22 P 3368", "KA22P3368"),
        ("sn66 xmz", "SN66XMZ"),
        (" ab.12_cd/34 ", "AB12CD34"),
        ("ÄÖ 12 é", "AO12E"),
        ("", ""),
        ("-·-", ""),
    ],
)
def test_normalise_plate(text: str, expected: str) -> None:
    assert normalise_plate(text) == expected


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("SN66 XMZ", None, PlateMatch("SN66XMZ", "uk", 0)),
        ("SN66 XMZ", "uk", PlateMatch("SN66XMZ", "uk", 0)),
        # OCR read the S as a 5; the UK format wants a letter there.
        ("5N66XMZ", "uk", PlateMatch("SN66XMZ", "uk", 1)),
        ("KA 22 P 3368", None, PlateMatch("KA22P3368", "in", 0)),
        ("KA 22 P 3368", "in", PlateMatch("KA22P3368", "in", 0)),
        # US plates print O and 0 alike and issue no O: either reading is the zero.
        ("0SG-719", "us", PlateMatch("0SG719", "us", 0)),
        ("OSG719", "us", PlateMatch("0SG719", "us", 1)),
        # With no region asked for, the first region in the configured order that fits wins,
        # even where a later one would take the reading with fewer corrections.
        ("DZI7 YXR", None, PlateMatch("DZ17YXR", "uk", 1)),
        # Fitting no format, a reading that still looks like a plate is kept as read.
        ("X1Y2Z3W4Q5", None, PlateMatch("X1Y2Z3W4Q5", None, 0)),
    ],
)
def test_resolve_plate_reads_a_plate(text: str, region: str | None, expected: PlateMatch) -> None:
    assert resolve_plate(text, DEFAULT_PLATE_FORMATS, region) == expected


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("KA22P3368", "uk"),  # an Indian plate is no UK plate, however corrected
        ("HELLO WORLD", "uk"),
        ("HELLO WORLD", None),  # no digit: a word, not a plate
        ("V", None),
        ("ABCDEFGHIJK", None),  # longer than any plate
        ("AB1234", "in"),  # too short for an Indian format
        ("", None),
        (" -- ", None),
        ("SN66XMZ", "atlantis"),  # no formats for the region
    ],
)
def test_resolve_plate_rejects(text: str, region: str | None) -> None:
    assert resolve_plate(text, DEFAULT_PLATE_FORMATS, region) is None


def test_resolve_plate_corrects_no_more_than_max_substitutions() -> None:
    digits = {"digits": (r"[0-9]{4}",)}
    assert resolve_plate("OIZ5", digits, "digits") == PlateMatch("0125", "digits", 3)
    # Four corrections: too many to trust the reading is that plate.
    assert resolve_plate("OIZS", digits, "digits") is None


def test_check_formats_names_the_broken_region() -> None:
    check_formats(DEFAULT_PLATE_FORMATS)
    with pytest.raises(ValueError, match="'broken'"):
        check_formats({"uk": DEFAULT_PLATE_FORMATS["uk"], "broken": ("[A-Z",)})


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        (" ka-22 p 3368 ", "exact", "KA22P3368"),
        ("Ä1 B2", "exact", "A1B2"),
        ("sn66*", "pattern", "SN66*"),
        ("ka-22-?-3368", "pattern", "KA22?3368"),
        ("*xmz", "pattern", "*XMZ"),
    ],
)
def test_normalise_watch_pattern(text: str, kind: WatchKind, expected: str) -> None:
    assert normalise_watch_pattern(text, kind) == expected


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("", "exact"),
        (" - . ", "exact"),
        ("", "pattern"),
        ("***", "pattern"),
        ("?*?", "pattern"),
        ("-*-", "pattern"),
    ],
)
def test_normalise_watch_pattern_refuses_what_matches_nothing_or_everything(
    text: str, kind: WatchKind
) -> None:
    with pytest.raises(ValueError, match="at least one letter or digit"):
        normalise_watch_pattern(text, kind)


def test_an_exact_entry_with_wildcards_is_refused_not_silently_changed() -> None:
    with pytest.raises(ValueError, match='send kind "pattern"'):
        normalise_watch_pattern("SN66*", "exact")


@pytest.mark.parametrize(
    ("text", "kind", "limit"),
    [("A1" * 6, "exact", MAX_PLATE_LENGTH), ("A?" * 17, "pattern", MAX_WATCH_PATTERN_LENGTH)],
)
def test_entries_longer_than_a_plate_or_the_column_are_refused(
    text: str, kind: WatchKind, limit: int
) -> None:
    assert len(text) > limit
    with pytest.raises(ValueError, match=f"at most {limit} characters"):
        normalise_watch_pattern(text, kind)
    assert len(normalise_watch_pattern(text[:limit], kind)) == limit


@pytest.mark.parametrize(
    ("plate", "pattern", "kind", "expected"),
    [
        ("SN66XMZ", "SN66XMZ", "exact", True),
        ("SN66XMZ", "SN66XM", "exact", False),
        ("SN66XM", "SN66XMZ", "exact", False),
        ("SN66XMZ", "SN66*", "pattern", True),
        ("SN66", "SN66*", "pattern", True),  # * may stand for nothing
        ("XSN66XMZ", "SN66*", "pattern", False),  # patterns match whole plates
        ("KA22P3368", "KA22?3368", "pattern", True),
        ("KA223368", "KA22?3368", "pattern", False),
        ("KA22PP3368", "KA22?3368", "pattern", False),
        ("AB12XMZ", "*XMZ", "pattern", True),
        ("SN66XMZ", "SN66XMZ", "pattern", True),
    ],
)
def test_watch_matches(plate: str, pattern: str, kind: WatchKind, expected: bool) -> None:
    assert watch_matches(plate, pattern, kind) is expected


def test_stored_watch_kinds_are_the_kinds_plates_match() -> None:
    assert {kind.value for kind in WatchlistKind} == set(get_args(WatchKind))
