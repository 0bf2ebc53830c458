"""Decoding still images from outside, bounded and contained.

Stills come from folders the user (or an OSC sender) names: they may be truncated, have flipped
bytes, or be decompression bombs (a 194 KB PNG that declares 20000×10000 pixels). Every caller
(the `images:` source, `ltsd render`, `ltsd train`) reads them here, so each gets the same
guarantees: the size is checked before a pixel is decoded, anything Pillow raises becomes one
`StillError` line naming the file, what it only warns about (a damaged tag it skipped) one log
line naming the file, and big stills are shrunk while decoding (JPEG draft mode).
"""

from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from ltsd.errors import LtsdError, first_line
from ltsd.jpeg import MAX_SCANS, START_OF_IMAGE, is_jpeg, too_many_scans

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
MAX_PIXELS = 64_000_000  # 8000×8000: any camera still; far below what would exhaust memory


log = logging.getLogger(__name__)
# stills whose damage was logged: a slideshow decodes the same file on every pass, and says so once
_damage_logged: set[Path] = set()


class StillError(LtsdError):
    """A still that cannot be used; the message names the file and why."""


def decode_still(path: Path, longest_side: int | None = None) -> np.ndarray:
    """(H, W, 3) uint8 RGB of `path`, shrunk (aspect kept) so no side exceeds `longest_side`."""
    try:
        with warnings.catch_warnings(record=True) as warned:
            warnings.simplefilter("always")  # Pillow's own warnings would print two lines
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(_checked(path)) as opened:
                width, height = opened.size
                if width * height > MAX_PIXELS or width < 1 or height < 1:
                    raise StillError(
                        f"{path}: {width}×{height} pixels is more than the "
                        f"{MAX_PIXELS // 1_000_000} MP a still may have"
                    )
                if longest_side is not None and max(width, height) > longest_side:
                    opened.thumbnail((longest_side, longest_side), Image.Resampling.BOX)
                pixels = np.asarray(opened.convert("RGB"))
        if warned and path not in _damage_logged:
            _damage_logged.add(path)
            log.warning("%s: damaged; using what could be read (%s)", path,
                        first_line(warned[0].message)[:120])  # fmt: skip
        return pixels
    except StillError:
        raise
    except MemoryError:
        raise StillError(f"{path}: not enough memory to decode it") from None
    except Exception as error:  # Pillow raises many kinds (SyntaxError for a broken PNG, too)
        raise StillError(f"{path}: not a readable image ({first_line(error)[:120]})") from None


def _checked(path: Path) -> Path | io.BytesIO:
    """`path` itself, or, for a JPEG, its bytes once their scans are counted (`ltsd.jpeg`)."""
    with open(path, "rb") as file:
        if not is_jpeg(file.read(2)):
            return path
        data = START_OF_IMAGE + file.read()
    if scans := too_many_scans(data):
        raise StillError(f"{path}: a JPEG of {scans} scans (at most {MAX_SCANS})")
    return io.BytesIO(data)


def is_still(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES
