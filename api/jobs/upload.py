"""Streams a multipart upload straight to the storage directory.

Starlette's form parser spools a whole file before the route runs; this one enforces the
size limit and the content type while the bytes arrive, so an oversize or foreign upload
is refused early and leaves nothing behind."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from fastapi import Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

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
MAX_FIELD_BYTES = 64 * 1024
# Multipart framing and small fields ride on top of the file itself.
ENVELOPE_ALLOWANCE = 256 * 1024

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
class _Part:
    name: str = ""
    filename: str | None = None
    data: bytearray = field(default_factory=bytearray)


class _Receiver:
    """Parser callbacks; an error found mid-stream is kept and raised by the caller."""

    def __init__(self, max_bytes: int, kind: JobKind) -> None:
        self.max_bytes = max_bytes
        self.kind = kind
        self.error: AppError | None = None
        self.fields: dict[str, str] = {}
        self.part = _Part()
        self.header_name = bytearray()
        self.header_value = bytearray()
        self.headers: dict[str, bytes] = {}
        self.file_seen = False
        self.head = bytearray()
        self.fmt: MediaFormat | None = None
        self.size = 0
        self.filename: str | None = None
        self.relative_path: str | None = None
        self.path: Path | None = None
        self.handle: BinaryIO | None = None

    # --- part headers -------------------------------------------------------------
    def on_part_begin(self) -> None:
        self.part = _Part()
        self.headers = {}

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
        self.part.filename = raw_filename.decode("utf-8", "replace") if raw_filename else None
        if self.part.name == FILE_FIELD:
            if self.file_seen:
                self.error = UnprocessableError("send exactly one `file` part")
            self.file_seen = True
            self.filename = self.part.filename

    # --- part bodies ----------------------------------------------------------------
    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.error is not None:
            return
        chunk = data[start:end]
        if self.part.name == FILE_FIELD:
            self._file_data(chunk)
        else:
            self.part.data += chunk
            if len(self.part.data) > MAX_FIELD_BYTES:
                self.error = PayloadTooLargeError(
                    f"form field {self.part.name!r} exceeds {MAX_FIELD_BYTES} bytes"
                )

    def on_part_end(self) -> None:
        if self.error is not None:
            return
        if self.part.name == FILE_FIELD:
            if self.fmt is None and self.size:
                self._start_file()  # a file shorter than the sniffing window
        elif self.part.name:
            try:
                self.fields[self.part.name] = self.part.data.decode("utf-8")
            except UnicodeDecodeError:
                self.error = UnprocessableError(f"form field {self.part.name!r} is not UTF-8 text")

    def _file_data(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            self.error = PayloadTooLargeError(
                f"the file exceeds the {self.max_bytes // (1024 * 1024)} MB limit for "
                f"{self.kind.value}s",
                extra={"limit_bytes": self.max_bytes},
            )
            return
        if self.fmt is None:
            self.head += chunk
            if len(self.head) >= SNIFF_BYTES:
                self._start_file()
            return
        assert self.handle is not None
        self.handle.write(chunk)

    def _start_file(self) -> None:
        """Decide the format from the bytes held back so far, then open the file with them."""
        fmt = sniff(bytes(self.head[:SNIFF_BYTES]))
        if fmt is None:
            self.error = UnsupportedMediaTypeError(
                f"unsupported file type: send {KIND_NAMES[self.kind]}; accepted: {SUPPORTED}"
            )
            return
        if fmt.kind is not self.kind:
            self.error = UnsupportedMediaTypeError(
                f"this endpoint takes {KIND_NAMES[self.kind]}, got {fmt.name.upper()}"
            )
            return
        self.fmt = fmt
        self.relative_path, self.path = storage.new_upload_path(fmt.suffix)
        self.handle = self.path.open("wb")
        self.handle.write(bytes(self.head))
        self.head.clear()

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()

    def discard(self) -> None:
        self.close()
        storage.delete(self.relative_path)

    def callbacks(self) -> dict[str, object]:
        return {
            name: getattr(self, name)
            for name in (
                "on_part_begin", "on_part_data", "on_part_end", "on_header_field",
                "on_header_value", "on_header_end", "on_headers_finished",
            )
        }  # fmt: skip


def _boundary(request: Request) -> bytes:
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise UnsupportedMediaTypeError(
            "send the file as multipart/form-data with a `file` part (and optional `params` JSON)"
        )
    return bytes(boundary)


def _check_declared_length(request: Request, max_bytes: int) -> None:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + ENVELOPE_ALLOWANCE:
        raise PayloadTooLargeError(
            f"the request exceeds the {max_bytes // (1024 * 1024)} MB upload limit",
            extra={"limit_bytes": max_bytes},
        )


async def receive_upload(request: Request, kind: JobKind, max_bytes: int) -> Upload:
    """Parse the request body as it streams in; raise the first problem found."""
    boundary = _boundary(request)
    _check_declared_length(request, max_bytes)
    receiver = _Receiver(max_bytes, kind)
    parser = MultipartParser(boundary, receiver.callbacks())
    try:
        try:
            async for chunk in request.stream():
                parser.write(chunk)
                if receiver.error is not None:
                    raise receiver.error
            parser.finalize()
        except MultipartParseError as exc:
            raise UnprocessableError(f"malformed multipart body: {exc}") from exc
        if receiver.error is not None:
            raise receiver.error
        if not receiver.file_seen:
            raise UnprocessableError("the `file` part is missing")
        if receiver.size == 0 or receiver.fmt is None or receiver.path is None:
            raise UnprocessableError("the uploaded file is empty")
        assert receiver.relative_path is not None
    except BaseException:
        receiver.discard()
        raise
    receiver.close()
    return Upload(
        relative_path=receiver.relative_path,
        path=receiver.path,
        size=receiver.size,
        filename=receiver.filename,
        fmt=receiver.fmt,
        fields=receiver.fields,
    )


@contextlib.contextmanager
def discard_on_error(upload: Upload) -> Iterator[Upload]:
    """Delete the stored file if anything after receiving it fails."""
    try:
        yield upload
    except BaseException:
        storage.delete(upload.relative_path)
        raise
