"""Pure decisions about findings: the problem types, how a finding reads as an order, and
whether bytes sent as a photo are one. Values in, values out."""

from __future__ import annotations

import io
import struct
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cityline.errors import DomainError, FieldError, Invalid

PROBLEMS_FILE = Path(__file__).with_name("problems.toml")
METHODS = ("video", "foot")  # video patrol (视频巡查), on foot (实地巡查)
SITE_KINDS = ("test_site", "venue", "compound", "other")
STAGES = ("finding", "rectified")
MAX_PHOTOS = 6  # per finding or reply: enough to show a site, few enough to look at
# What a photo may be, told by its first bytes (never by its name or the sender's word).
MAGIC = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n"}
SUFFIX = {"image/jpeg": ".jpg", "image/png": ".png"}
PILLOW_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}


@dataclass(frozen=True)
class Problem:
    code: str
    zh: str
    en: str
    category: str
    urgency: str


@lru_cache
def load_problems(path: Path = PROBLEMS_FILE) -> dict[str, Problem]:
    """The problem types by code, in the file's order (the patrol form's buttons)."""
    with path.open("rb") as handle:
        rows = tomllib.load(handle)["problem"]
    return {row["code"]: Problem(**row) for row in rows}


def finding_text(problem: Problem, site_name: str, note: str | None) -> str:
    """The order's text: what an operator would have written down, in Chinese, the centre's language."""
    text = f"巡查发现：{site_name}{problem.zh}。"
    return f"{text}{note.strip()}" if note and note.strip() else text


class PhotoTooLarge(DomainError):
    status = 413
    title = "Content Too Large"


@dataclass(frozen=True)
class ImageInfo:
    media_type: str
    width: int
    height: int

    @property
    def suffix(self) -> str:
        return SUFFIX[self.media_type]


def not_an_image(name: str, why: str) -> Invalid:
    return Invalid(f"{name} is not a JPEG or PNG photo ({why})",
                   [FieldError("photos", f"{name}: {why}", "not_an_image")],
                   code="inspection.not_an_image", params={"name": name})


def check_photo(data: bytes, name: str, max_bytes: int) -> ImageInfo:
    """What the photo is, when ``data`` is a JPEG or PNG of at most ``max_bytes``; raises
    PhotoTooLarge (413) or Invalid (422) naming the file otherwise. The first bytes must
    say JPEG or PNG and the whole must decode as that (Pillow, when installed; else the
    header must be whole and name a size)."""
    if len(data) > max_bytes:
        raise PhotoTooLarge(f"{name} is {len(data)} bytes; a photo may have at most {max_bytes}",
                            code="inspection.photo_too_large",
                            params={"name": name, "limit_mb": f"{max_bytes / 1024 / 1024:g}"})
    media_type = next((kind for kind, magic in MAGIC.items() if data.startswith(magic)), None)
    if media_type is None:
        raise not_an_image(name, "its content is neither JPEG nor PNG")
    try:
        from PIL import Image
    except ImportError:  # no Pillow on this server: the header must still be a whole one
        width, height = header_size(media_type, data, name)
    else:
        try:
            with Image.open(io.BytesIO(data)) as image:
                found, (width, height) = PILLOW_FORMATS.get(image.format or ""), image.size
                image.load()  # decodes every pixel: a cut-off or damaged file fails here
        except Exception as error:  # Pillow raises many kinds for a broken file
            raise not_an_image(name, "it does not decode as an image") from error
        if found != media_type:
            raise not_an_image(name, "its content does not match its kind")
    if width < 1 or height < 1:
        raise not_an_image(name, "it has no size")
    return ImageInfo(media_type, width, height)


def header_size(media_type: str, data: bytes, name: str) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR or a JPEG's start-of-frame; raises Invalid if absent."""
    if media_type == "image/png":
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise not_an_image(name, "its PNG header is damaged")
        return struct.unpack(">II", data[16:24])
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            break
        marker, length = data[at + 1], struct.unpack(">H", data[at + 2:at + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC) and at + 9 <= len(data):
            height, width = struct.unpack(">HH", data[at + 5:at + 9])
            return width, height
        at += 2 + length
    raise not_an_image(name, "its JPEG header names no size")

