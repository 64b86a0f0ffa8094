"""The picture a session sends while its camera sends none: "offline since hh:mm:ss UTC" (the
capture time of the camera's last frame), so that a viewer sees why the picture stopped rather
than a frozen one."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

DEFAULT_SIZE = (640, 360)
BACKGROUND = (32, 36, 44)
TEXT = (236, 239, 244)
MUTED = (160, 168, 181)


def offline_text(captured_at: str | None) -> str:
    """`offline since 13:29:12 UTC` from the last frame's ISO 8601 capture time; without one
    (no picture since the session began), `no picture yet`."""
    if captured_at:
        try:
            moment = datetime.fromisoformat(captured_at.replace("Z", "+00:00"))
        except ValueError:
            return "offline"
        return f"offline since {moment.astimezone(UTC).strftime('%H:%M:%S')} UTC"
    return "no picture yet"


def even_size(width: int, height: int) -> tuple[int, int]:
    """Video encoders take even sizes only (4:2:0 chroma)."""
    return max(2, width - width % 2), max(2, height - height % 2)


@lru_cache(maxsize=32)
def render(text: str, title: str | None, size: tuple[int, int] = DEFAULT_SIZE) -> Image.Image:
    """The placeholder picture, `size` large (the camera's last frame size, so that the
    encoder keeps its settings), `text` in the middle and the camera's name above it."""
    width, height = even_size(*size)
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    big = ImageFont.load_default(size=max(12, height // 12))
    small = ImageFont.load_default(size=max(10, height // 20))
    draw.text((width / 2, height / 2), text, fill=TEXT, font=big, anchor="mm")
    if title:
        draw.text((width / 2, height / 2 - height // 8), title, fill=MUTED, font=small, anchor="mm")
    return image
