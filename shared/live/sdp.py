"""What an offer must be before the API hands it to the live service: small, one video section
that only receives, a few ICE candidates at addresses the live service may send to. A light
check of the text, without aiortc (the API never imports it): the live service parses the offer
for real and refuses what this lets through.

The live service sends connectivity checks to every candidate of an offer, so the candidates
are what a caller points the service's UDP at: they are bounded in number, and link-local
(169.254.0.0/16, where cloud metadata services listen, and fe80::/10), multicast and
unspecified addresses are refused, as are host names other than a browser's mDNS `….local`
ones (another name would be resolved by DNS, to wherever its owner likes)."""

from __future__ import annotations

import ipaddress
import re

MAX_SDP_BYTES = 64 * 1024
# A browser offers one or two candidates per network interface and ICE server: 20 leaves room
# for a machine with many interfaces, not for a list of targets.
MAX_CANDIDATES = 20
CANDIDATE_PREFIX = "a=candidate:"
DIRECTIONS = frozenset({"sendrecv", "sendonly", "recvonly", "inactive"})
# Printable text, tabs and line ends: an SDP carries nothing else.
_ALLOWED = re.compile(r"[\t\r\n\x20-\x7e]*")


class OfferProblem(ValueError):
    """Why an offer is refused, and which field of the request holds the problem."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def check_offer(sdp: str, kind: str) -> None:
    """OfferProblem unless `kind` is "offer" and `sdp` is at most MAX_SDP_BYTES with exactly one
    media section, a video one, marked a=recvonly."""
    if kind != "offer":
        raise OfferProblem("type", f'must be "offer", not {kind!r}')
    size = len(sdp.encode())
    if size > MAX_SDP_BYTES:
        raise OfferProblem("sdp", f"is {size} bytes; at most {MAX_SDP_BYTES} are accepted")
    if not _ALLOWED.fullmatch(sdp):
        raise OfferProblem("sdp", "holds characters an SDP cannot have")
    lines = [line.strip() for line in sdp.splitlines() if line.strip()]
    if not lines or lines[0] != "v=0":
        raise OfferProblem("sdp", "is not an SDP session description (it must start with v=0)")
    starts = [index for index, line in enumerate(lines) if line.startswith("m=")]
    if len(starts) != 1:
        raise OfferProblem(
            "sdp", f"has {len(starts)} media sections; exactly one (video) is accepted"
        )
    media = lines[starts[0]]
    if media.split(" ", 1)[0] != "m=video":
        raise OfferProblem("sdp", f"offers {media.split(' ', 1)[0][2:]!r}; only video is sent")
    directions = {
        line[2:]
        for line in lines[starts[0] + 1 :]
        if line.startswith("a=") and line[2:] in DIRECTIONS
    }
    if directions != {"recvonly"}:
        found = ", ".join(sorted(directions)) or "none"
        raise OfferProblem(
            "sdp",
            f"its video section must be a=recvonly (found: {found}); the live view only sends",
        )
    _check_candidates([line for line in lines if line.startswith(CANDIDATE_PREFIX)])


def _check_candidates(candidates: list[str]) -> None:
    if len(candidates) > MAX_CANDIDATES:
        raise OfferProblem(
            "sdp", f"has {len(candidates)} ICE candidates; at most {MAX_CANDIDATES} are accepted"
        )
    for line in candidates:
        # foundation component transport priority address port "typ" type ...
        fields = line[len(CANDIDATE_PREFIX) :].split()
        if len(fields) < 8 or fields[6] != "typ":
            raise OfferProblem("sdp", f"has a malformed ICE candidate: {line[:100]!r}")
        problem = _address_problem(fields[4])
        if problem is not None:
            raise OfferProblem("sdp", f"has an ICE candidate at {fields[4]!r}, {problem}")


def _address_problem(address: str) -> str | None:
    """Why the live service may not send to `address`; None when it may."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        if address.lower().endswith(".local"):
            return None
        return "a host name (only IP addresses and mDNS .local names are accepted)"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    return None
