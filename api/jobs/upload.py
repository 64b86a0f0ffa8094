"""Streams a multipart upload straight to the storage directory.

Starlette's form parser spools a whole file before the route runs; this one enforces the
size limit and the content type while the bytes arrive, so an oversize or foreign upload
is refused early and leaves nothing behind. A batch (repeated `files` parts) is parsed the
same way, file by file: a bad file is refused on its own while the others are kept."""

from __future__ import annotations

import contextlib
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from fastapi import Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from api.text import NUL, NUL_MESSAGE
from shared import storage
from shared.db.enums import JobKind
from shared.errors import (
    AppError,
    PayloadTooLargeError,
    UnprocessableError,
    UnsupportedMediaTypeError,
)
from shared.media import SNIFF_BYTES, SUPPORTED, MediaFormat, sniff

FILE_FIELD = "file"
BATCH_FIELD = "files"
MAX_FIELD_BYTES = 64 * 1024
# Parts other than the files (`params`, `callback_url`, ...): each is held in memory, so their
# number is bounded as well as their size.
MAX_FIELDS = 16
# Multipart framing and small fields ride on top of the files themselves.
ENVELOPE_ALLOWANCE = 256 * 1024
MB = 1024 * 1024

KIND_NAMES = {JobKind.IMAGE: "an image (JPEG or PNG)", JobKind.VIDEO: "a video (MP4, AVI or MOV)"}


@dataclass
class Upload:
    relative_path: str
    path: Path
    size: int
    filename: str | None
    fmt: MediaFormat
    fields: dict[str, str]


@dataclass
class Rejected:
    """A file of a batch that was refused, and why."""

    filename: str | None
    error: AppError


@dataclass
class Batch:
    items: list[Upload | Rejected]
    fields: dict[str, str]

    @property
    def uploads(self) -> list[Upload]:
        return [item for item in self.items if isinstance(item, Upload)]


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    data: bytearray = field(default_factory=bytearray)


class _IncomingFile:
    """One file part: its first bytes are held back until they tell the format (and so the
    size limit), then everything is written to storage while the limit is checked. A refused
    file keeps its error and leaves nothing on disk."""

    def __init__(
        self, filename: str | None, limits: Mapping[JobKind, int], expected: JobKind | None
    ) -> None:
        self.filename = filename
        self.limits = limits
        self.expected = expected
        self.error: AppError | None = None
        self.head = bytearray()
        self.fmt: MediaFormat | None = None
        self.size = 0
        self.relative_path: str | None = None
        self.path: Path | None = None
        self.handle: BinaryIO | None = None

    def write(self, chunk: bytes) -> None:
        if self.error is not None:
            return
        self.size += len(chunk)
        kind = self.fmt.kind if self.fmt else self.expected
        limit = self.limits[kind] if kind else max(self.limits.values())
        if self.size > limit:
            what = f"{kind.value}s" if kind else "uploads"
            self._reject(
                PayloadTooLargeError(
                    f"the file exceeds the {limit // MB} MB limit for {what}",
                    extra={"limit_bytes": limit},
                )
            )
            return
        if self.fmt is None:
            self.head += chunk
            if len(self.head) >= SNIFF_BYTES:
                self._start()
            return
        assert self.handle is not None
        self.handle.write(chunk)

    def finish(self) -> None:
        """The part ended: a file shorter than the sniffing window is decided now."""
        if self.error is None and self.fmt is None:
            if self.size:
                self._start()
            else:
                self._reject(UnprocessableError("the uploaded file is empty"))
        self.close()

    def _start(self) -> None:
        """Decide the format from the bytes held back so far, then open the file with them."""
        fmt = sniff(bytes(self.head[:SNIFF_BYTES]))
        if fmt is None:
            wanted = KIND_NAMES[self.expected] if self.expected else "an image or a video"
            self._reject(
                UnsupportedMediaTypeError(
                    f"unsupported file type: send {wanted}; accepted: {SUPPORTED}"
                )
            )
            return
        if self.expected is not None and fmt.kind is not self.expected:
            self._reject(
                UnsupportedMediaTypeError(
                    f"this endpoint takes {KIND_NAMES[self.expected]}, got {fmt.name.upper()}"
                )
            )
            return
        self.fmt = fmt
        self.relative_path, self.path = storage.new_upload_path(fmt.suffix)
        self.handle = storage.open_private(self.path)
        self.handle.write(bytes(self.head))
        self.head.clear()

    def _reject(self, error: AppError) -> None:
        self.error = error
        self.head.clear()
        self.discard()

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()

    def discard(self) -> None:
        self.close()
        storage.delete(self.relative_path)

    def upload(self, fields: dict[str, str]) -> Upload:
        assert self.relative_path is not None
        assert self.path is not None
        assert self.fmt is not None
        return Upload(self.relative_path, self.path, self.size, self.filename, self.fmt, fields)


class _Receiver:
    """Parser callbacks for one `file` part; any problem is kept and raised by the caller."""

    file_field = FILE_FIELD

    def __init__(self, limits: Mapping[JobKind, int], expected: JobKind | None) -> None:
        self.limits = limits
        self.expected = expected
        self.error: AppError | None = None
        self.fields: dict[str, str] = {}
        self.files: list[_IncomingFile] = []
        self.file: _IncomingFile | None = None
        self.part = _Part()
        self.header_name = bytearray()
        self.header_value = bytearray()
        self.headers: dict[str, bytes] = {}
        self.field_count = 0
        self.ended = False

    # --- part headers -------------------------------------------------------------
    def on_part_begin(self) -> None:
        self.part = _Part()
        self.headers = {}
        self.file = None

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[bytes(self.header_name).lower().decode("latin-1")] = bytes(self.header_value)
        self.header_name.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get("content-disposition", b""))
        self.part.name = options.get(b"name", b"").decode("utf-8", "replace")
        raw_filename = options.get(b"filename")
        self.part.filename = (
            _printable(raw_filename.decode("utf-8", "replace")) if raw_filename else None
        )
        if self.error is None:
            self.check_part()
        if self.part.name != self.file_field and self.error is None:
            self.field_count += 1
            if self.field_count > MAX_FIELDS:
                self.error = PayloadTooLargeError(
                    f"at most {MAX_FIELDS} form fields besides the files are accepted",
                    extra={"max_fields": MAX_FIELDS},
                )
        if self.part.name == self.file_field and self.error is None:
            self.file = _IncomingFile(self.part.filename, self.limits, self.expected)
            self.files.append(self.file)

    def check_part(self) -> None:
        if self.part.name == FILE_FIELD and self.files:
            self.error = UnprocessableError("send exactly one `file` part")

    def file_error(self, error: AppError) -> None:
        """A refused file refuses the whole request."""
        self.error = error

    # --- part bodies ----------------------------------------------------------------
    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.error is not None:
            return
        chunk = data[start:end]
        if self.file is not None:
            self.file.write(chunk)
            if self.file.error is not None:
                self.file_error(self.file.error)
            return
        self.part.data += chunk
        if len(self.part.data) > MAX_FIELD_BYTES:
            self.error = PayloadTooLargeError(
                f"form field {self.part.name!r} exceeds {MAX_FIELD_BYTES} bytes"
            )

    def on_part_end(self) -> None:
        if self.error is not None:
            return
        if self.file is not None:
            self.file.finish()
            if self.file.error is not None:
                self.file_error(self.file.error)
        elif self.part.name:
            try:
                value = self.part.data.decode("utf-8")
            except UnicodeDecodeError:
                self.error = UnprocessableError(f"form field {self.part.name!r} is not UTF-8 text")
                return
            if NUL in value:
                self.error = UnprocessableError(
                    f"form field {self.part.name!r} {NUL_MESSAGE}",
                    extra={"fields": [{"field": self.part.name, "message": NUL_MESSAGE}]},
                )
                return
            self.fields[self.part.name] = value

    def on_end(self) -> None:
        self.ended = True

    def discard(self) -> None:
        for file in self.files:
            file.discard()

    def callbacks(self) -> dict[str, object]:
        return {
            name: getattr(self, name)
            for name in (
                "on_part_begin", "on_part_data", "on_part_end", "on_header_field",
                "on_header_value", "on_header_end", "on_headers_finished", "on_end",
            )
        }  # fmt: skip


class _BatchReceiver(_Receiver):
    """Parser callbacks for repeated `files` parts: a refused file is recorded on its own."""

    file_field = BATCH_FIELD

    def __init__(self, limits: Mapping[JobKind, int], max_files: int) -> None:
        super().__init__(limits, expected=None)
        self.max_files = max_files

    def check_part(self) -> None:
        if self.part.name == BATCH_FIELD and len(self.files) >= self.max_files:
            self.error = PayloadTooLargeError(
                f"a batch takes at most {self.max_files} files; send the rest in another batch",
                extra={"max_files": self.max_files},
            )
        elif self.part.name != BATCH_FIELD and self.part.filename is not None:
            self.error = UnprocessableError(
                f"unexpected file in the {self.part.name!r} part: send every file as a "
                f"`{BATCH_FIELD}` part"
            )

    def file_error(self, error: AppError) -> None:
        """Kept on the file; the other files go on."""


# Control characters (Postgres refuses NUL in the stored media record), format characters
# (bidi overrides that make "gpj.exe" read "exe.jpg", zero-width characters that make two
# names look alike) and line breaks: the name is only shown back, in lists, logs and webhooks.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def _printable(filename: str) -> str | None:
    """The client's file name without the characters that hide or disguise what it says."""
    return "".join(c for c in filename if unicodedata.category(c) not in _HIDDEN_CATEGORIES) or None


def _boundary(request: Request, parts: str) -> bytes:
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise UnsupportedMediaTypeError(
            f"send multipart/form-data with {parts} (and optional `params` JSON)"
        )
    return bytes(boundary)


def _too_large(max_bytes: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"the request exceeds the {max_bytes // MB} MB upload limit",
        extra={"limit_bytes": max_bytes},
    )


def _check_declared_length(request: Request, max_bytes: int) -> None:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + ENVELOPE_ALLOWANCE:
        raise _too_large(max_bytes)


async def _parse(request: Request, boundary: bytes, receiver: _Receiver, max_bytes: int) -> None:
    """Feed the body to the receiver as it streams in; raise the first fatal problem."""
    parser = MultipartParser(boundary, receiver.callbacks())
    received = 0
    try:
        async for chunk in request.stream():
            # A body without Content-Length is held to the same total: the per-file limits
            # alone would let bytes outside any file (the epilogue after the closing boundary,
            # which the parser skips) stream on for ever.
            received += len(chunk)
            if received > max_bytes + ENVELOPE_ALLOWANCE:
                raise _too_large(max_bytes)
            parser.write(chunk)
            if receiver.error is not None:
                raise receiver.error
        parser.finalize()
    except MultipartParseError as exc:
        raise UnprocessableError(f"malformed multipart body: {exc}") from exc
    if receiver.error is not None:
        raise receiver.error
    if not receiver.ended:
        # The parser does not check this itself; a cut-off body would leave a part half-read.
        raise UnprocessableError("malformed multipart body: it ends before the closing boundary")


async def receive_upload(request: Request, kind: JobKind, max_bytes: int) -> Upload:
    """Parse the request body as it streams in; raise the first problem found."""
    boundary = _boundary(request, "a `file` part")
    _check_declared_length(request, max_bytes)
    receiver = _Receiver({kind: max_bytes}, kind)
    try:
        await _parse(request, boundary, receiver, max_bytes)
        if not receiver.files:
            raise UnprocessableError("the `file` part is missing")
    except BaseException:
        receiver.discard()
        raise
    return receiver.files[0].upload(receiver.fields)


async def receive_batch(request: Request, limits: Mapping[JobKind, int], max_files: int) -> Batch:
    """Parse repeated `files` parts as they stream in. A bad file becomes a `Rejected` item;
    a problem with the request itself (too many files, malformed body) is raised."""
    boundary = _boundary(request, f"repeated `{BATCH_FIELD}` parts")
    max_bytes = max_files * max(limits.values())
    _check_declared_length(request, max_bytes)
    receiver = _BatchReceiver(limits, max_files)
    try:
        await _parse(request, boundary, receiver, max_bytes)
        if not receiver.files:
            raise UnprocessableError(
                f"send 1 to {max_files} images or videos as repeated `{BATCH_FIELD}` parts"
            )
    except BaseException:
        receiver.discard()
        raise
    return Batch(
        items=[
            Rejected(file.filename, file.error)
            if file.error is not None
            else file.upload(receiver.fields)
            for file in receiver.files
        ],
        fields=receiver.fields,
    )


@contextlib.contextmanager
def discard_on_error(*uploads: Upload) -> Iterator[None]:
    """Delete the stored files if anything after receiving them fails."""
    try:
        yield
    except BaseException:
        for upload in uploads:
            storage.delete(upload.relative_path)
        raise
