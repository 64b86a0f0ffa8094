"""Camera source URLs: `rtsp://` and `rtsps://` (credentials split out and kept apart), and
`file://` under VIGIL_CAMERA_FILE_ROOT. Cameras live on LANs, so private addresses are fine;
loopback, link-local (the cloud metadata address among them), multicast and unspecified ones
are refused unless VIGIL_CAMERA_ALLOWED_NETWORKS lists them: a camera URL must not become a way
to reach the services next to Vigil."""

from __future__ import annotations

import ipaddress
import re
import socket
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

from shared.cameras.secrets import Credentials
from shared.errors import UnprocessableError

STREAM_SCHEMES = ("rtsp", "rtsps")
FILE_SCHEME = "file"
DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322}
MAX_URL_LENGTH = 2048
# What ffmpeg may open for an RTSP camera: nothing that reads local files or fetches over HTTP.
PROTOCOL_WHITELIST = "rtsp,rtsps,rtp,srtp,udp,tcp,tls"
# `scheme://user:password@` anywhere in a text (an ffmpeg or PyAV error quotes the whole URL).
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]*@")
# Query parameters some cameras take credentials in (`?user=admin&password=…`). A camera's URL
# is stored and shown in clear, so a URL with one is refused: credentials go in `user:password@`,
# which is split out and encrypted. A user name alone (`?user=`) is no secret.
SECRET_QUERY_PARAMETERS = frozenset(
    {"password", "passwd", "pwd", "pass", "token", "access_token", "auth", "secret"}
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# "This network" (RFC 791): `is_unspecified` covers 0.0.0.0 alone, yet `rtsp://1/` resolves to
# 0.0.0.1, and no camera has an address there.
THIS_NETWORK = ipaddress.IPv4Network("0.0.0.0/8")


@dataclass(frozen=True, slots=True)
class CameraSource:
    """A parsed source. `url` never holds credentials; `credentials` are what was split out."""

    url: str
    scheme: str
    host: str | None = None
    port: int | None = None
    path: Path | None = None
    credentials: Credentials | None = None

    @property
    def is_file(self) -> bool:
        return self.scheme == FILE_SCHEME


def _refuse(message: str) -> UnprocessableError:
    return UnprocessableError(f"stream_url: {message}")


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def _unquoted(text: str, what: str) -> str:
    """`text` percent-decoded; refused when that yields a control character (`%00` above all,
    which no file name and no system call takes)."""
    decoded = unquote(text)
    if _has_control(decoded):
        raise _refuse(f"its {what} contains a control character once percent-decoded")
    return decoded


def parse_source(url: str) -> CameraSource:
    """Syntax only (no name resolution, no file system): UnprocessableError saying what is
    wrong. Credentials are removed from the URL and returned apart."""
    if len(url) > MAX_URL_LENGTH:
        raise _refuse(f"longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or _has_control(ch) for ch in url):
        raise _refuse("contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        # Never the parser's message: it quotes the part it could not read, which may be a
        # piece of the password (`rtsp://admin:pa/ss@…` reads `pa` as the port).
        raise _refuse(
            "not a valid URL: its host or port cannot be read (in a user name or password, "
            "percent-encode the characters / ? # [ ] @ :)"
        ) from None
    scheme = parts.scheme.lower()
    if scheme == FILE_SCHEME:
        if parts.netloc not in ("", "localhost"):
            raise _refuse("a file:// URL names a path on the server (file:///videos/lobby.mp4)")
        path = Path(_unquoted(parts.path, "path"))
        return CameraSource(f"file://{parts.path}", scheme, path=path)
    if scheme not in STREAM_SCHEMES:
        raise _refuse("must start with rtsp://, rtsps:// or file://")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise _refuse("has no host")
    credentials = None
    if parts.username is not None or parts.password is not None:
        credentials = Credentials(
            _unquoted(parts.username or "", "user name"),
            _unquoted(parts.password or "", "password"),
        )
    shown_host = f"[{host}]" if ":" in host else host
    netloc = shown_host if port is None else f"{shown_host}:{port}"
    clean = urlunsplit((scheme, netloc, parts.path, parts.query, ""))
    return CameraSource(clean, scheme, host, port or DEFAULT_PORTS[scheme], None, credentials)


def check_query(source: CameraSource) -> None:
    """UnprocessableError when the URL's query carries credentials (SECRET_QUERY_PARAMETERS),
    which would be stored and shown in clear. Checked when a camera is registered or changed,
    not when a runner opens it: a camera stored before keeps running."""
    query = urlsplit(source.url).query
    names = sorted(
        {name.lower() for name, _ in parse_qsl(query, keep_blank_values=True)}
        & SECRET_QUERY_PARAMETERS
    )
    if names:
        raise _refuse(
            f"carries credentials in its query ({', '.join(names)}), where they would be stored "
            "and shown in clear; put them in the URL as rtsp://user:password@host/…, which is "
            "encrypted"
        )


def _networks(entries: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(entry.strip(), strict=False) for entry in entries]


def check_camera_networks(entries: Iterable[str]) -> None:
    """Start-up check of VIGIL_CAMERA_ALLOWED_NETWORKS: every entry a CIDR network."""
    for entry in entries:
        try:
            ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError as exc:
            raise ValueError(
                f"VIGIL_CAMERA_ALLOWED_NETWORKS: {entry!r} is not a CIDR network"
            ) from exc


def _forbidden(address: IPAddress) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    checks = (
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_unspecified or address in THIS_NETWORK, "an unspecified address"),
        (address.is_reserved, "a reserved address"),
    )
    return next((reason for hit, reason in checks if hit), None)


def check_stream_address(source: CameraSource, allowed_networks: Iterable[str]) -> None:
    """UnprocessableError unless every address of the host may be reached (blocking: it
    resolves the name)."""
    assert source.host is not None
    try:
        infos = socket.getaddrinfo(source.host, source.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise _refuse(f"cannot resolve the host {source.host}") from None
    allowed = _networks(allowed_networks)
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        reason = _forbidden(address)
        if reason is not None and not any(address in network for network in allowed):
            raise _refuse(
                f"{source.host} is {reason}; cameras there must be allowed by "
                "VIGIL_CAMERA_ALLOWED_NETWORKS"
            )


def check_file_source(source: CameraSource, root: Path | None) -> Path:
    """The file a `file://` camera plays, if it lies under `root`; UnprocessableError if not."""
    assert source.path is not None
    if root is None:
        raise _refuse("file:// cameras are turned off (VIGIL_CAMERA_FILE_ROOT is not set)")
    try:
        base = root.resolve()
        target = source.path if source.path.is_absolute() else base / source.path
        resolved = target.resolve()
        playable = resolved.is_relative_to(base) and resolved.is_file()
    # What the file system refuses the path for: a name longer than it takes (OSError
    # ENAMETOOLONG), a NUL (ValueError), a loop of links (RuntimeError).
    except (OSError, ValueError, RuntimeError):
        raise _refuse("the path cannot be opened (a name too long, or a loop of links)") from None
    if not resolved.is_relative_to(base):
        raise _refuse("file:// cameras must play a file under VIGIL_CAMERA_FILE_ROOT")
    if not playable:
        raise _refuse("no such file under VIGIL_CAMERA_FILE_ROOT")
    return resolved


def with_credentials(url: str, credentials: Credentials | None) -> str:
    """The URL a capture opens: the stored one with the credentials put back."""
    if credentials is None:
        return url
    parts = urlsplit(url)
    userinfo = f"{quote(credentials.username, safe='')}:{quote(credentials.password, safe='')}"
    return urlunsplit((parts.scheme, f"{userinfo}@{parts.netloc}", parts.path, parts.query, ""))


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without any URL credentials or any of `secrets` (raw or percent-encoded): for
    errors and logs of captures, whose libraries quote the URL they failed to open."""
    cleaned = _USERINFO.sub(r"\1***@", text)
    for secret in secrets:
        if not secret:
            continue
        for form in {secret, quote(secret, safe="")}:
            cleaned = cleaned.replace(form, "***")
    return cleaned
