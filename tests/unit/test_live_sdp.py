"""The offer checks the API makes before it hands an offer to the live view service."""

from __future__ import annotations

import pytest

from shared.live.sdp import MAX_CANDIDATES, MAX_SDP_BYTES, OfferProblem, check_offer

VIDEO = (
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=mid:0\r\n"
    "a={direction}\r\n"
    "a=rtpmap:96 VP8/90000\r\n"
    "a=rtpmap:97 H264/90000\r\n"
)
HEAD = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
AUDIO = "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=recvonly\r\n"


def offer(direction: str = "recvonly", extra: str = "") -> str:
    return HEAD + VIDEO.format(direction=direction) + extra


def problem(sdp: str, kind: str = "offer") -> OfferProblem:
    with pytest.raises(OfferProblem) as caught:
        check_offer(sdp, kind)
    return caught.value


def test_one_recvonly_video_section_passes() -> None:
    check_offer(offer(), "offer")
    # Bare line feeds too, as some clients send them.
    check_offer(offer().replace("\r\n", "\n"), "offer")


def test_only_offers_are_taken() -> None:
    refused = problem(offer(), "answer")
    assert refused.field == "type"


@pytest.mark.parametrize("direction", ["sendrecv", "sendonly", "inactive"])
def test_a_section_that_would_send_or_is_off_is_refused(direction: str) -> None:
    refused = problem(offer(direction))
    assert refused.field == "sdp"
    assert direction in refused.message


def test_a_section_without_a_direction_is_refused() -> None:
    assert "recvonly" in problem(offer().replace("a=recvonly\r\n", "")).message


def test_exactly_one_media_section_and_a_video_one() -> None:
    assert "2 media sections" in problem(offer(extra=AUDIO)).message
    assert "0 media sections" in problem(HEAD).message
    audio_only = HEAD + AUDIO
    assert "'audio'" in problem(audio_only).message


def test_size_is_counted_in_bytes() -> None:
    padding = MAX_SDP_BYTES - len(offer().encode()) - len("a=x:\r\n")
    check_offer(offer(extra=f"a=x:{'y' * padding}\r\n"), "offer")
    assert "at most" in problem(offer(extra=f"a=x:{'y' * (padding + 1)}\r\n")).message
    # Under the limit in characters, over it in bytes.
    assert "bytes" in problem(offer(extra=f"a=x:{'é' * (MAX_SDP_BYTES // 2)}\r\n")).message


@pytest.mark.parametrize("sdp", ["", "hello", "o=- 1 1 IN IP4 0.0.0.0\r\n" + VIDEO])
def test_what_is_not_a_session_description_is_refused(sdp: str) -> None:
    assert problem(sdp).field == "sdp"


def test_control_characters_are_refused() -> None:
    assert "characters" in problem(offer(extra="a=x:\x00\r\n")).message


def candidate(address: str, port: int = 50000, kind: str = "host") -> str:
    return f"a=candidate:1 1 udp 2130706431 {address} {port} typ {kind}\r\n"


def test_candidates_at_addresses_the_live_service_may_reach_pass() -> None:
    extra = (
        candidate("192.168.1.20")
        + candidate("2001:db8::7")
        + candidate("127.0.0.1")
        + candidate("6c1f8a2e-3b4d-4c5e-9f60-7a8b9c0d1e2f.local")
        + candidate("203.0.113.9", kind="srflx raddr 0.0.0.0 rport 0")
        + "a=end-of-candidates\r\n"
    )
    check_offer(offer(extra=extra), "offer")


@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("::ffff:169.254.169.254", "link-local"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 (an address in an offer, not a binding)
        ("::", "unspecified"),
        ("metadata.google.internal", "host name"),
    ],
)
def test_candidates_the_live_service_must_not_send_to_are_refused(address: str, words: str) -> None:
    refused = problem(offer(extra=candidate("192.168.1.20") + candidate(address)))
    assert refused.field == "sdp"
    assert words in refused.message
    assert address in refused.message


def test_at_most_max_candidates_are_taken() -> None:
    enough = "".join(candidate("192.168.1.20", 50000 + n) for n in range(MAX_CANDIDATES))
    check_offer(offer(extra=enough), "offer")
    refused = problem(offer(extra=enough + candidate("192.168.1.20", 40000)))
    assert f"{MAX_CANDIDATES + 1} ICE candidates" in refused.message


def test_a_malformed_candidate_is_refused() -> None:
    assert "malformed" in problem(offer(extra="a=candidate:1 1 udp 2130706431\r\n")).message
