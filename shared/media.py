"""Decide what an upload is from its bytes, never its name, and read a video's container
boxes without decoding it (the API carries no OpenCV or ffmpeg): its structure, and what it
says about the video stream, so that limits can refuse a video before anyone decodes it."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO

from shared.db.enums import JobKind
from shared.settings import get_settings

SNIFF_BYTES = 16


@dataclass(frozen=True)
class MediaFormat:
    name: str
    kind: JobKind
    content_type: str
    suffix: str


JPEG = MediaFormat("jpeg", JobKind.IMAGE, "image/jpeg", ".jpg")
PNG = MediaFormat("png", JobKind.IMAGE, "image/png", ".png")
MP4 = MediaFormat("mp4", JobKind.VIDEO, "video/mp4", ".mp4")
MOV = MediaFormat("mov", JobKind.VIDEO, "video/quicktime", ".mov")
AVI = MediaFormat("avi", JobKind.VIDEO, "video/x-msvideo", ".avi")
SUPPORTED = "JPEG, PNG, MP4, AVI or MOV"

# Top-level atoms a QuickTime file may open with when it has no `ftyp`.
_QT_LEADING_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}

# Boxes and chunks read per file: real files hold a few hundred; a file made of millions of
# empty boxes would otherwise keep an API thread busy for seconds.
MAX_BOXES = 100_000

# Sample-entry (MP4, MOV) and BITMAPINFOHEADER (AVI) tags, lower-cased and stripped, of the
# codecs ffmpeg names this way. A tag outside this table is refused: the worker decodes only
# codecs on the allow-list, and a tag nobody knows is no reason to hand the file to a decoder.
# `mp4v` also carries MPEG-1/2 video, told apart only inside its `esds`: the worker's probe
# decides those.
_TAGS = {
    "h264": "avc1 avc2 avc3 avc4 dvav dva1 h264 x264 davc smv2 vssh q264 v264 gavc umsv tshd",
    "hevc": "hvc1 hev1 dvhe dvh1 hevc h265 x265 hm10",
    "mpeg4": "mp4v fmp4 divx dx50 xvid mp4s m4s2 dxgm ump4 rmp4 3iv2 wawv ffds fvfw dcod mvxm "
    "pm4v smp4 vidm m4t3 geox hdx4 dm4v dmk2 dym4 digi ephv em4a m4cc sn40 vspx uldx geov sipp "
    "sm4v xvix drex qmp4 plv1 glv4 gmp4 mnm4 gtm4 blz0 zmp4 wv1f sedg",
    "mjpeg": "mjpg jpeg mjpa mjpb avrn ljpg jpgl avdj dmb1 ijpg avi1 acdv qivg slmj cjpg ijlv "
    "mvjp avi2 mtsj zjpg mmjp",
    "vp8": "vp80 vp08",
    "vp9": "vp90 vp09",
    "av1": "av01",
    "mpeg1video": "mpg1 pim1",
    "mpeg2video": "mpg2 mp2v mpeg m2v1 hdv1 hdv2 hdv3 hdv5 hdv6 hdv7 hdv8 hdv9",
    "ffv1": "ffv1",
    "prores": "apch apcn apcs apco ap4h ap4x",
    "rawvideo": "raw dib 2vuy yuv2 i420 yv12 uyvy yuy2",
    "png": "png mpng",
    "qtrle": "rle",
    "cinepak": "cvid",
    "huffyuv": "hfyu",
    "dvvideo": "dvsd dvhd dv25 dv50 dvh5 dvh6 dvc dvcp dvpp",
}
_CODEC_OF_TAG = {tag: codec for codec, tags in _TAGS.items() for tag in tags.split()}
# BITMAPINFOHEADER biCompression values that are numbers, not fourccs.
_AVI_NUMERIC_CODECS = {0: "rawvideo", 1: "msrle", 2: "msrle", 3: "rawvideo"}


def codec_for_tag(tag: bytes) -> str:
    """ffmpeg's name for the codec a container tag stands for, or `tag 'xxxx'` when unknown."""
    text = tag.decode("latin-1").strip(" \x00").lower()
    return _CODEC_OF_TAG.get(text) or f"tag {text!r}"


@dataclass(frozen=True)
class VideoFacts:
    """What a container (or a probe) says about one video stream; None where it says nothing."""

    width: int | None = None
    height: int | None = None
    # Every codec the stream's sample descriptions name (MP4 allows several).
    codecs: tuple[str, ...] = ()
    frame_count: int | None = None
    duration_s: float | None = None


def sniff(head: bytes) -> MediaFormat | None:
    """The format of a file from its first bytes, or None when it is none we accept."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return AVI
    if head[4:8] == b"ftyp":
        return MOV if head[8:12] == b"qt  " else MP4
    if head[4:8] in _QT_LEADING_ATOMS:
        return MOV
    return None


@dataclass
class _Reader:
    """Bounded reads of one file: every box or chunk visited is counted against MAX_BOXES."""

    handle: BinaryIO
    size: int
    visited: int = 0

    def read(self, offset: int, length: int) -> bytes:
        self.handle.seek(offset)
        data = self.handle.read(length)
        if len(data) < length:
            raise ValueError("a header runs past the end of the file")
        return data

    def visit(self) -> None:
        self.visited += 1
        if self.visited > MAX_BOXES:
            raise ValueError(f"more than {MAX_BOXES} boxes")


# --- ISO-BMFF (MP4, MOV) ------------------------------------------------------------------


def _boxes(reader: _Reader, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) of the boxes between start and end; ValueError when a
    box runs past `end`."""
    offset = start
    while offset < end:
        reader.visit()
        if end - offset < 8:
            raise ValueError("truncated box header")
        length, box_type = struct.unpack(">I4s", reader.read(offset, 8))
        header = 8
        if length == 1:
            (length,) = struct.unpack(">Q", reader.read(offset + 8, 8))
            header = 16
        elif length == 0:
            length = end - offset
        if length < header or offset + length > end:
            raise ValueError("box runs past the end of its parent")
        yield box_type, offset + header, offset + length
        offset += length


def _child(reader: _Reader, start: int, end: int, wanted: bytes) -> tuple[int, int] | None:
    return next(((s, e) for t, s, e in _boxes(reader, start, end) if t == wanted), None)


def _full_box_times(reader: _Reader, start: int) -> tuple[int, int]:
    """(timescale, duration) of an `mvhd` or `mdhd`, whose layout depends on its version."""
    if reader.read(start, 1)[0] == 1:
        timescale, duration = struct.unpack(">IQ", reader.read(start + 20, 12))
    else:
        timescale, duration = struct.unpack(">II", reader.read(start + 12, 8))
    return timescale, duration


@dataclass
class _Track:
    track_id: int = 0
    video: bool = False
    width: int = 0
    height: int = 0
    codecs: list[str] = field(default_factory=list)
    samples: int = 0
    duration_s: float | None = None

    def facts(self, movie_duration_s: float | None) -> VideoFacts:
        return VideoFacts(
            width=self.width or None,
            height=self.height or None,
            codecs=tuple(self.codecs),
            frame_count=self.samples or None,
            duration_s=self.duration_s or movie_duration_s,
        )


def _read_tkhd(reader: _Reader, start: int, end: int, track: _Track) -> None:
    version = reader.read(start, 1)[0]
    (track.track_id,) = struct.unpack(">I", reader.read(start + (20 if version == 1 else 12), 4))
    width, height = struct.unpack(">II", reader.read(end - 8, 8))
    # 16.16 fixed point: the presentation size, which may differ from the coded one.
    track.width, track.height = max(track.width, width >> 16), max(track.height, height >> 16)


def _read_stsd(reader: _Reader, start: int, end: int, track: _Track) -> None:
    for entry_type, entry_start, entry_end in _boxes(reader, start + 8, end):
        track.codecs.append(codec_for_tag(entry_type))
        # A visual sample entry: the coded size follows 24 bytes of reserved fields.
        if entry_end - entry_start >= 28:
            width, height = struct.unpack(">HH", reader.read(entry_start + 24, 4))
            track.width, track.height = max(track.width, width), max(track.height, height)


def _read_stbl(reader: _Reader, start: int, end: int, track: _Track) -> None:
    for box_type, box_start, box_end in _boxes(reader, start, end):
        if box_type == b"stsd":
            _read_stsd(reader, box_start, box_end, track)
        elif box_type in (b"stsz", b"stz2"):
            (track.samples,) = struct.unpack(">I", reader.read(box_start + 8, 4))


def _read_mdia(reader: _Reader, start: int, end: int, track: _Track) -> None:
    for box_type, box_start, box_end in _boxes(reader, start, end):
        if box_type == b"hdlr":
            track.video = reader.read(box_start + 8, 4) == b"vide"
        elif box_type == b"mdhd":
            timescale, duration = _full_box_times(reader, box_start)
            track.duration_s = duration / timescale if timescale and duration else None
        elif box_type == b"minf":
            stbl = _child(reader, box_start, box_end, b"stbl")
            if stbl:
                _read_stbl(reader, *stbl, track)


def _read_trak(reader: _Reader, start: int, end: int) -> _Track:
    track = _Track()
    for box_type, box_start, box_end in _boxes(reader, start, end):
        if box_type == b"tkhd":
            _read_tkhd(reader, box_start, box_end, track)
        elif box_type == b"mdia":
            _read_mdia(reader, box_start, box_end, track)
    return track


def _fragment_samples(reader: _Reader, start: int, end: int) -> dict[int, int]:
    """Samples per track id in one `moof`: fragmented files keep them out of `moov`."""
    samples: dict[int, int] = {}
    for box_type, traf_start, traf_end in _boxes(reader, start, end):
        if box_type != b"traf":
            continue
        track_id = 0
        for child, child_start, _ in _boxes(reader, traf_start, traf_end):
            if child == b"tfhd":
                (track_id,) = struct.unpack(">I", reader.read(child_start + 4, 4))
            elif child == b"trun":
                (count,) = struct.unpack(">I", reader.read(child_start + 4, 4))
                samples[track_id] = samples.get(track_id, 0) + count
    return samples


@dataclass
class _Movie:
    boxes: set[bytes] = field(default_factory=set)
    tracks: list[_Track] = field(default_factory=list)
    duration_s: float | None = None
    fragment_samples: dict[int, int] = field(default_factory=dict)


def _read_moov(reader: _Reader, start: int, end: int, movie: _Movie) -> None:
    for box_type, box_start, box_end in _boxes(reader, start, end):
        if box_type == b"mvhd":
            timescale, duration = _full_box_times(reader, box_start)
            movie.duration_s = duration / timescale if timescale and duration else None
        elif box_type == b"trak":
            movie.tracks.append(_read_trak(reader, box_start, box_end))


def _read_isobmff(reader: _Reader) -> _Movie:
    movie = _Movie()
    for box_type, start, end in _boxes(reader, 0, reader.size):
        movie.boxes.add(box_type)
        if box_type == b"moov":
            _read_moov(reader, start, end, movie)
        elif box_type == b"moof":
            for track_id, count in _fragment_samples(reader, start, end).items():
                movie.fragment_samples[track_id] = movie.fragment_samples.get(track_id, 0) + count
    return movie


def _isobmff_streams(movie: _Movie) -> list[VideoFacts]:
    streams = []
    for track in movie.tracks:
        if track.video:
            track.samples += movie.fragment_samples.get(track.track_id, 0)
            streams.append(track.facts(movie.duration_s))
    return streams


# --- RIFF (AVI) -----------------------------------------------------------------------------


def _chunks(reader: _Reader, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(id, data start, data length) of the RIFF chunks between start and end."""
    offset = start
    while offset + 8 <= end:
        reader.visit()
        chunk_id, length = struct.unpack("<4sI", reader.read(offset, 8))
        if offset + 8 + length > end:
            raise ValueError("chunk runs past the end of the file")
        yield chunk_id, offset + 8, length
        offset += 8 + length + (length & 1)


@dataclass
class _Avi:
    lists: set[bytes] = field(default_factory=set)
    main: VideoFacts = field(default_factory=VideoFacts)
    streams: list[VideoFacts] = field(default_factory=list)
    total_frames: int = 0


def _read_avih(data: bytes) -> VideoFacts:
    micro_s, _, _, _, frames, _, _, _, width, height = struct.unpack("<10I", data[:40])
    return VideoFacts(
        width=width or None,
        height=height or None,
        frame_count=frames or None,
        duration_s=frames * micro_s / 1e6 if frames and micro_s else None,
    )


def _read_strl(reader: _Reader, start: int, end: int) -> VideoFacts | None:
    """The stream's facts when it is a video stream (`strh` type `vids`)."""
    header = b""
    bitmap = b""
    for chunk_id, data_start, length in _chunks(reader, start, end):
        if chunk_id == b"strh":
            header = reader.read(data_start, min(length, 36))
        elif chunk_id == b"strf":
            bitmap = reader.read(data_start, min(length, 20))
    if len(header) < 36 or header[:4] != b"vids":
        return None
    scale, rate, _, length = struct.unpack("<4I", header[20:36])
    facts = VideoFacts(
        codecs=(codec_for_tag(header[4:8]),),
        frame_count=length or None,
        duration_s=length * scale / rate if length and scale and rate else None,
    )
    if len(bitmap) == 20:
        width, height, _, _, compression = struct.unpack("<iiHHI", bitmap[4:20])
        codec = _AVI_NUMERIC_CODECS.get(compression) or codec_for_tag(bitmap[16:20])
        facts = replace(facts, width=abs(width), height=abs(height), codecs=(codec,))
    return facts


def _read_hdrl(reader: _Reader, start: int, end: int, avi: _Avi) -> None:
    for chunk_id, data_start, length in _chunks(reader, start, end):
        if chunk_id == b"avih" and length >= 40:
            avi.main = _read_avih(reader.read(data_start, 40))
        elif chunk_id == b"LIST" and length >= 4:
            list_type = reader.read(data_start, 4)
            if list_type == b"strl":
                stream = _read_strl(reader, data_start + 4, data_start + length)
                if stream is not None:
                    avi.streams.append(stream)
            elif list_type == b"odml":
                dmlh = _child_chunk(reader, data_start + 4, data_start + length, b"dmlh")
                if dmlh is not None:
                    (avi.total_frames,) = struct.unpack("<I", dmlh[:4])


def _child_chunk(reader: _Reader, start: int, end: int, wanted: bytes) -> bytes | None:
    for chunk_id, data_start, length in _chunks(reader, start, end):
        if chunk_id == wanted and length >= 4:
            return reader.read(data_start, 4)
    return None


def _read_riff(reader: _Reader) -> _Avi:
    (riff_size,) = struct.unpack("<I", reader.read(4, 4))
    if riff_size + 8 > reader.size:
        raise ValueError("RIFF chunk runs past the end of the file")
    avi = _Avi()
    for chunk_id, data_start, length in _chunks(reader, 12, riff_size + 8):
        if chunk_id != b"LIST" or length < 4:
            continue
        list_type = reader.read(data_start, 4)
        avi.lists.add(list_type)
        if list_type == b"hdrl":
            _read_hdrl(reader, data_start + 4, data_start + length, avi)
    return avi


def _avi_streams(avi: _Avi) -> list[VideoFacts]:
    """Each video stream, with the largest size and frame count any of the headers states."""
    main = avi.main
    streams = []
    for stream in avi.streams:
        frames = max(stream.frame_count or 0, main.frame_count or 0, avi.total_frames)
        streams.append(
            replace(
                stream,
                width=max(stream.width or 0, main.width or 0) or None,
                height=max(stream.height or 0, main.height or 0) or None,
                frame_count=frames or None,
                duration_s=stream.duration_s or main.duration_s,
            )
        )
    return streams


# --- the checks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class VideoContainer:
    """Why the container cannot be a playable video (None when its structure holds up), and
    what it says about its video streams."""

    problem: str | None
    streams: list[VideoFacts] = field(default_factory=list)


def read_video_container(path: Path, fmt: MediaFormat) -> VideoContainer:
    name = fmt.name.upper()
    try:
        with path.open("rb") as handle:
            reader = _Reader(handle, path.stat().st_size)
            if fmt is AVI:
                avi = _read_riff(reader)
                missing = {b"hdrl", b"movi"} - avi.lists
                streams = _avi_streams(avi)
            else:
                movie = _read_isobmff(reader)
                missing = {b"moov"} - movie.boxes
                if not movie.boxes & {b"mdat", b"moof"}:
                    missing.add(b"mdat")
                streams = _isobmff_streams(movie)
    except (ValueError, struct.error) as exc:
        return VideoContainer(f"the {name} file is truncated or corrupt ({exc})")
    if missing:
        names = ", ".join(sorted(m.decode("latin-1") for m in missing))
        return VideoContainer(f"the {name} file has no {names} section; it holds no playable video")
    return VideoContainer(None, streams)


def check_video_structure(path: Path, fmt: MediaFormat) -> str | None:
    """Why the container cannot be a playable video, or None when its structure holds up."""
    return read_video_container(path, fmt).problem


def _allowed_codecs() -> frozenset[str]:
    return frozenset(codec.lower() for codec in get_settings().video_codecs)


def frames_to_decode(frame_count: int, frame_skip: int, max_frames: int | None) -> int:
    """Frames a job decodes: skipped frames are decoded too (only their conversion is
    saved), and decoding stops after the last frame `max_frames` asks for."""
    if max_frames is None:
        return frame_count
    return min(frame_count, (max_frames - 1) * frame_skip + 1)


def video_limit_problem(
    facts: VideoFacts, frame_skip: int = 1, max_frames: int | None = None
) -> str | None:
    """Why a video stream is beyond what this server decodes, or None. Facts a container or
    probe does not state are not held against it."""
    settings = get_settings()
    allowed = _allowed_codecs()
    refused = [codec for codec in facts.codecs if codec not in allowed]
    if refused:
        return (
            f"its codec ({refused[0]}) is not accepted; accepted codecs: "
            f"{', '.join(sorted(allowed))} (VIGIL_VIDEO_CODECS)"
        )
    pixels = (facts.width or 0) * (facts.height or 0)
    if pixels > settings.max_video_pixels:
        return (
            f"its frames are {facts.width}x{facts.height}; at most {settings.max_video_pixels} "
            "pixels per frame are accepted (VIGIL_MAX_VIDEO_PIXELS)"
        )
    if facts.frame_count is not None and facts.frame_count > settings.max_video_frames:
        return (
            f"it has {facts.frame_count} frames; at most {settings.max_video_frames} are "
            "accepted (VIGIL_MAX_VIDEO_FRAMES)"
        )
    if facts.duration_s is not None and facts.duration_s > settings.max_video_duration_s:
        return (
            f"it lasts {facts.duration_s:.0f} s; at most {settings.max_video_duration_s:g} s are "
            "accepted (VIGIL_MAX_VIDEO_DURATION_S)"
        )
    if facts.frame_count is not None and pixels:
        decoded = frames_to_decode(facts.frame_count, frame_skip, max_frames) * pixels
        if decoded > settings.max_video_decoded_pixels:
            return (
                f"analysing it decodes {decoded} pixels; at most "
                f"{settings.max_video_decoded_pixels} are accepted per job "
                "(VIGIL_MAX_VIDEO_DECODED_PIXELS): lower max_frames"
            )
    return None
