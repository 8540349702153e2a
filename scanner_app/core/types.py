"""The small, frozen, self-checking records handed from one stage of a scan to the next.

Coordinates: every box is in pixels of the *original page image* as loaded by
``image_io.load_page`` (after EXIF orientation), origin at the top-left corner,
x to the right, y down, ``w``/``h`` exclusive extents. Stages that work on a
resized or flattened copy map their boxes back before handing them on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CROP_SIZE = 28
# The files the app opens (image_io reads them): the file dialog, drops and "Open with" use this list.
PAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif", ".heic", ".heif", ".pdf")


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle in page pixels: ``[x, x + w) x [y, y + h)``."""

    x: int
    y: int
    w: int
    h: int

    def __post_init__(self) -> None:
        if self.w <= 0 or self.h <= 0:
            raise ValueError(f"Box must have positive size, got w={self.w}, h={self.h}")
        if self.x < 0 or self.y < 0:
            raise ValueError(f"Box must lie inside the page, got x={self.x}, y={self.y}")

    @property
    def x2(self) -> int:
        """Right edge (exclusive)."""
        return self.x + self.w

    @property
    def y2(self) -> int:
        """Bottom edge (exclusive)."""
        return self.y + self.h

    @property
    def cx(self) -> float:
        """Horizontal centre."""
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        """Vertical centre."""
        return self.y + self.h / 2

    @property
    def area(self) -> int:
        """Area in pixels."""
        return self.w * self.h

    def union(self, other: Box) -> Box:
        """Return the smallest box holding both boxes."""
        x, y = min(self.x, other.x), min(self.y, other.y)
        return Box(x, y, max(self.x2, other.x2) - x, max(self.y2, other.y2) - y)

    def contains_point(self, px: float, py: float) -> bool:
        """Return whether the point lies inside the box."""
        return self.x <= px < self.x2 and self.y <= py < self.y2

    def within(self, width: int, height: int) -> bool:
        """Return whether the box lies inside a ``width`` x ``height`` page."""
        return self.x2 <= width and self.y2 <= height

    def as_list(self) -> list[int]:
        """Return ``[x, y, w, h]`` (for JSON)."""
        return [self.x, self.y, self.w, self.h]

    @classmethod
    def from_xyxy(cls, x1: float, y1: float, x2: float, y2: float) -> Box:
        """Build a box from corner coordinates, rounding outwards."""
        ix1, iy1 = int(np.floor(x1)), int(np.floor(y1))
        ix2, iy2 = int(np.ceil(x2)), int(np.ceil(y2))
        return cls(max(ix1, 0), max(iy1, 0), max(ix2 - max(ix1, 0), 1), max(iy2 - max(iy1, 0), 1))


@dataclass(frozen=True)
class PageImage:
    """One page as a uint8 greyscale array (H x W, 0 = black, 255 = white).

    ``pixels`` is in original page coordinates unless the source exceeded the working
    resolution cap, in which case ``scale`` (< 1) says how much it was shrunk and
    ``original_size`` keeps the source's (width, height).
    """

    pixels: np.ndarray
    source: str = ""
    page_index: int = 0
    scale: float = 1.0
    original_size: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        px = self.pixels
        if not isinstance(px, np.ndarray) or px.ndim != 2 or px.dtype != np.uint8:
            raise ValueError("PageImage.pixels must be a 2-D uint8 array")
        if px.shape[0] < 1 or px.shape[1] < 1:
            raise ValueError("PageImage must not be empty")
        if self.original_size == (0, 0):
            object.__setattr__(self, "original_size", (px.shape[1], px.shape[0]))

    @property
    def width(self) -> int:
        """Width in pixels."""
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        """Height in pixels."""
        return int(self.pixels.shape[0])


@dataclass(frozen=True)
class LineBox:
    """One text line: its bounding box and its index in reading order (0 = top)."""

    box: Box
    index: int
    x_height: float = 0.0


@dataclass(frozen=True)
class CharBox:
    """One character candidate on the page.

    ``line`` and ``word`` are reading-order indices; ``gap_before`` is the blank width in
    pixels between this character and the previous one on the same line (0 for the first).
    ``mask`` optionally holds the character's own ink (uint8, ink=255, same size as ``box``),
    so neighbours that reach into the box are not framed with it.
    """

    box: Box
    line: int
    word: int
    gap_before: float = 0.0
    mask: np.ndarray | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.mask is not None and self.mask.shape != (self.box.h, self.box.w):
            raise ValueError(f"CharBox.mask shape {self.mask.shape} != box size {(self.box.h, self.box.w)}")


@dataclass(frozen=True)
class CropBatch:
    """N character crops ready for the classifier: float32 N x 28 x 28 x 1 in 0..1, ink high.

    ``boxes[i]`` is where crop ``i`` came from on the page (empty for crops not from a page).
    """

    crops: np.ndarray
    boxes: tuple[Box, ...] = ()

    def __post_init__(self) -> None:
        c = self.crops
        if c.ndim != 4 or c.shape[1:] != (CROP_SIZE, CROP_SIZE, 1) or c.dtype != np.float32:
            raise ValueError(f"CropBatch.crops must be float32 N x 28 x 28 x 1, got {c.dtype} {c.shape}")
        if self.boxes and len(self.boxes) != len(c):
            raise ValueError("CropBatch.boxes must have one box per crop")

    def __len__(self) -> int:
        return int(self.crops.shape[0])


@dataclass(frozen=True)
class CharPrediction:
    """The classifier's answer for one character.

    ``char`` is what goes into the text (after case and charset decisions);
    ``confidence`` is its probability in 0..1; ``alternatives`` holds the top-k
    ``(char, probability)`` pairs, best first (the first one is the raw model's answer).
    """

    char: str
    confidence: float
    alternatives: tuple[tuple[str, float], ...]
    box: Box | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0 + 1e-6:
            raise ValueError(f"confidence must be in 0..1, got {self.confidence}")


@dataclass(frozen=True)
class LineResult:
    """One recognised line: its text and one prediction per non-space character, in order."""

    text: str
    chars: tuple[CharPrediction, ...]
    box: Box | None = None


@dataclass(frozen=True)
class ScanResult:
    """A whole page: ``text`` joins the lines with newlines; ``notes`` are messages for the user."""

    lines: tuple[LineResult, ...]
    page_size: tuple[int, int]
    notes: tuple[str, ...] = ()
    source: str = ""

    @classmethod
    def unread(cls, problem: str, source: str = "", page_size: tuple[int, int] = (0, 0)) -> ScanResult:
        """Return the empty result of a page that could not be read or scanned; ``problem`` says why."""
        return cls((), page_size, (problem,), source)

    @property
    def text(self) -> str:
        """The recognised text, one line per text line."""
        return "\n".join(line.text for line in self.lines)

    @property
    def chars(self) -> tuple[CharPrediction, ...]:
        """Every character prediction on the page, in reading order."""
        return tuple(c for line in self.lines for c in line.chars)

    def to_dict(self) -> dict:
        """Return a JSON-ready dict: text, notes and every character with box and alternatives."""
        return {
            "source": self.source,
            "page_size": list(self.page_size),
            "text": self.text,
            "notes": list(self.notes),
            "lines": [
                {
                    "text": line.text,
                    "box": line.box.as_list() if line.box else None,
                    "chars": [
                        {
                            "char": c.char,
                            "confidence": round(float(c.confidence), 4),
                            "box": c.box.as_list() if c.box else None,
                            "alternatives": [[a, round(float(p), 4)] for a, p in c.alternatives],
                        }
                        for c in line.chars
                    ],
                }
                for line in self.lines
            ],
        }


@dataclass(frozen=True)
class Progress:
    """Progress report yielded by long-running generators: ``done`` of ``total`` in ``stage``."""

    stage: str
    done: int
    total: int

    @property
    def fraction(self) -> float:
        """Progress in 0..1."""
        return 0.0 if self.total <= 0 else min(1.0, self.done / self.total)
