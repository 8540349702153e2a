"""Synthetic characters rendered from handwriting-style fonts (optional training ingredient).

No font file is stored in this repository. Install the Debian packages (list in README,
section "The model") or point ``$HWS_FONT_DIRS`` (``os.pathsep``-separated) at folders holding
the files named in :data:`FONTS`. Training works without any of them: the ingredient is then
simply empty.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from scanner_app.core import crops

from .augment import _cached, distort

CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
DEFAULT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts")
LOWER_ONLY = "abcdefghijklmnopqrstuvwxyz"

# file name -> which characters to render from it (None: all of 0-9 A-Z a-z). Chosen from the
# inventory in ../shared/data/README.md: print-style handwriting; cursive/display faces skipped.
FONTS: dict[str, str | None] = {
    "dkg.ttf": None,
    "dkgBd.ttf": None,
    "dkgIt.ttf": None,
    "dkgBI.ttf": None,  # fonts-dkg-handwriting
    "Breip.ttf": None,
    "breipfont.ttf": None,  # fonts-breip
    "Delphine.ttf": None,
    "SteveHand.ttf": None,  # fonts-sjfonts
    "Rufscript010.ttf": None,  # fonts-rufscript
    "Purisa.ttf": None,
    "Purisa-Bold.ttf": None,
    "Purisa-Oblique.ttf": None,  # fonts-tlwg-purisa-ttf
    "kiloji.ttf": None,
    "kiloji_b.ttf": None,
    "kiloji_d.ttf": None,
    "kiloji_p.ttf": None,  # fonts-kiloji
    "KleeOne-Regular.ttf": None,
    "KleeOne-SemiBold.ttf": None,  # fonts-klee
    "setofont.ttf": None,  # fonts-seto (setofont-ex.ttf renders nothing)
    "ComicNeue-Regular.otf": None,
    "ComicNeue-Bold.otf": None,
    "ComicNeue-Italic.otf": None,  # fonts-comic-neue
    "femkeklaver.ttf": LOWER_ONLY,  # fonts-femkeklaver: capitals and digits are hollow outlines
    "Humor-Sans.ttf": None,  # fonts-humor-sans: capitals in the lower-case slots (same merged class)
    "BecauseWeLearn-Regular.otf": None,
    "BecauseWeCreate-Regular.otf": None,  # fonts-bwht: caps only, same
    "Kristi.ttf": None,  # fonts-kristi
}
# Fonts whose lower-case slots hold capitals: their letters teach no letter case.
NO_CASE = ("Humor-Sans.ttf", "BecauseWeLearn-Regular.otf", "BecauseWeCreate-Regular.otf")
DEBIAN_PACKAGES = (
    "fonts-dkg-handwriting fonts-breip fonts-sjfonts fonts-rufscript fonts-tlwg-purisa-ttf fonts-kiloji "
    "fonts-klee fonts-seto fonts-comic-neue fonts-femkeklaver fonts-humor-sans fonts-bwht fonts-kristi"
)


def find_fonts(dirs: list[str] | None = None) -> list[tuple[Path, str]]:
    """Return ``(font file, characters to render)`` for every known font found on this machine."""
    if dirs is None:
        env = os.environ.get("HWS_FONT_DIRS", "")
        dirs = [d for d in env.split(os.pathsep) if d] + list(DEFAULT_DIRS)
    found: dict[str, Path] = {}
    for d in dirs:
        root = Path(d).expanduser()
        if not root.is_dir():
            continue
        for p in sorted(root.rglob("*")):
            if p.name in FONTS and p.name not in found:
                found[p.name] = p
    return [(found[name], FONTS[name] or CHARS) for name in FONTS if name in found]


def char_class(ch: str) -> int:
    """Return the 36-class label of one character of 0-9 A-Z a-z."""
    return int(ch) if ch.isdigit() else 10 + ord(ch.upper()) - ord("A")


def render_char(font_path: Path, ch: str, size: int) -> np.ndarray:
    """Render one character, ink high, on a square uint8 canvas."""
    from PIL import Image, ImageDraw, ImageFont

    canvas = 2 * size
    font = ImageFont.truetype(str(font_path), size)
    img = Image.new("L", (canvas, canvas), 0)
    ImageDraw.Draw(img).text((canvas / 2, canvas / 2), ch, fill=255, font=font, anchor="mm")
    return np.asarray(img)


def char_case(ch: str, font_name: str = "") -> int:
    """Return 1 for an upper-case letter, 0 for lower case, -1 for a digit or a font in NO_CASE."""
    if not ch.isalpha() or font_name in NO_CASE:
        return -1
    return 1 if ch.isupper() else 0


def font_glyphs_framed(
    per_char: int,
    *,
    seed: int,
    cache_dir: Path | None,
    fonts: list[tuple[Path, str]] | None = None,
    with_case: bool = False,
) -> tuple[np.ndarray, ...]:
    """Render ``per_char`` distorted copies of every character of every font, framed by crops.py.

    Returns ``(x uint8 N x 28 x 28, y int64)``, plus the letter case (int8, see :func:`char_case`)
    when ``with_case``; empty arrays when no font is installed.
    """
    fonts = find_fonts() if fonts is None else fonts
    if not fonts or per_char <= 0:
        empty = (np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64))
        return (*empty, np.zeros(0, np.int8)) if with_case else empty
    key = "fonts-" + "-".join(sorted(p.stem for p, _ in fonts))[:80] + f"-{len(fonts)}-k{per_char}-s{seed}"
    jobs = [(p, ch) for p, chars in fonts for ch in chars for _ in range(per_char)]
    y = np.asarray([char_class(ch) for _, ch in jobs], np.int64)
    case = np.asarray([char_case(ch, p.name) for p, ch in jobs], np.int8)

    def make() -> np.ndarray:
        rng = np.random.default_rng(seed)
        out = np.empty((len(jobs), 28, 28), np.uint8)
        for i, (p, ch) in enumerate(jobs):
            img = render_char(p, ch, int(rng.integers(28, 48)))
            if img.max() == 0:
                out[i] = 0
                continue
            # Font strokes are too regular: distort like a hand and a camera would.
            out[i] = crops.to_uint8(crops.frame_glyph(distort(img, rng)))
        return out

    x = _cached(key, cache_dir, make)
    keep = x.reshape(len(x), -1).max(1) > 0
    return (x[keep], y[keep], case[keep]) if with_case else (x[keep], y[keep])
