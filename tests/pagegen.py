"""Synthetic handwritten pages with ground truth, built from TEST writers only.

Characters come from writers that the model never saw in training:

* UNIPEN test writers' pen trajectories, redrawn at page scale with a pen-like stroke;
* NIST (FEMNIST) test writers' 28 x 28 images, upscaled (``source="femnist"``).

A writer is a test writer when ``int(sha1(writer).hexdigest(), 16) % 5 == 0`` (see
``../shared/data/README.md``). Each page uses one main writer and borrows characters
the writer did not write from other test writers.

Glyphs are placed like handwriting: capitals, digits and ascenders (b d f h k l t) reach the
cap height, the other lower-case letters the x-height, g j p q y hang below the baseline.
Lines slope a little and every glyph jitters in size and position. ``photo=True`` turns the
clean page into a photograph: perspective on a background, uneven light, a shadow, blur,
sensor noise and JPEG compression. The ground truth is the text and every character's box
(in the returned image's pixel coordinates).

Usable without ``../shared``: ``GlyphSource.from_sample()`` reads the committed
``tests/data/strokes_sample.npz`` (a few hundred characters from test writers).

Run ``python tests/pagegen.py OUT_DIR`` to write a few pages with ``.txt`` and ``.json`` truth.
"""

from __future__ import annotations

import hashlib
import json
import os
import string
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from scanner_app.core.metrics import edit_distance  # re-exported: tests and benchmarks import it from here

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_PATH = Path(__file__).resolve().parent / "data" / "strokes_sample.npz"
CHARS = string.digits + string.ascii_uppercase + string.ascii_lowercase  # EMNIST ByClass order

ASCENDERS = set("bdfhklt")
DESCENDERS = set("gjpqy")
X_HEIGHT = 0.6  # x-height as a fraction of the cap height


def data_dir(path: str | Path | None = None) -> Path:
    """Return the shared data folder (argument, $HWS_DATA_DIR, or ../shared/data)."""
    if path is not None:
        return Path(path)
    env = os.environ.get("HWS_DATA_DIR")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def is_test_writer(writer: str) -> bool:
    """The project's writer split: a test writer is never trained or tuned on."""
    return int(hashlib.sha1(writer.encode()).hexdigest(), 16) % 5 == 0


def is_val_writer(writer: str) -> bool:
    """Validation writers (model_training.data's rule): not trained on, used to tune."""
    return not is_test_writer(writer) and int(hashlib.md5(writer.encode()).hexdigest(), 16) % 10 == 0


def _wanted(writer: str, writers: str) -> bool:
    if writers == "test":
        return is_test_writer(writer)
    if writers == "val":
        return is_val_writer(writer)
    if writers == "train":
        return not is_test_writer(writer)
    raise ValueError(f"writers must be test, val or train, not {writers!r}")


@dataclass
class GlyphSource:
    """Test-writer characters: stroke lists (UNIPEN) and/or 28 x 28 images (FEMNIST)."""

    strokes: dict[str, list[tuple[str, list[np.ndarray]]]] = field(
        default_factory=dict
    )  # char -> [(writer, strokes)]
    images: dict[str, list[np.ndarray]] = field(default_factory=dict)  # char -> [28 x 28 uint8 ink-high]

    @classmethod
    def from_shared(
        cls, path: str | Path | None = None, *, min_quality: float = 0.1, writers: str = "test"
    ) -> GlyphSource:
        """Load every test writer's characters from the shared data sets.

        ``writers="train"`` loads the *other* writers instead: pages for tuning the decoder's
        few constants, so nothing is tuned on test writers. ``writers="val"`` loads only the
        validation writers among those (the model never trained on them either).
        ``min_quality`` drops UNIPEN samples whose quality flag (``qc_p_label``) is below it:
        these are mostly mis-segmented or mislabelled samples (see the data README).
        """
        root = data_dir(path)
        src = cls()
        with np.load(root / "unipen-train_r01_v07-isolated.npz", allow_pickle=False) as d:
            ids = d["writer"]
            test = np.array([_wanted(w, writers) for w in ids])
            keep = test & (d["qc_p_label"].astype(np.float32) >= min_quality)
            src._add_strokes(d["points"], d["stroke_len"], d["form_nstrokes"], d["y_byclass"], ids, keep)
        femnist = root / "femnist-leaf-sample.npz"
        if femnist.exists():
            with np.load(femnist, allow_pickle=False) as f:
                test = np.array([_wanted(w, writers) for w in f["writer"]])
                for img, y in zip(f["x"][test], f["y_byclass"][test], strict=True):
                    src.images.setdefault(CHARS[int(y)], []).append(img)
        return src

    @classmethod
    def from_sample(cls, path: str | Path = SAMPLE_PATH) -> GlyphSource:
        """Load the small committed sample (tests/data/strokes_sample.npz)."""
        src = cls()
        with np.load(path, allow_pickle=False) as d:
            keep = np.ones(len(d["form_nstrokes"]), bool)
            src._add_strokes(
                d["points"], d["stroke_len"], d["form_nstrokes"], d["y_byclass"], d["writer"], keep
            )
            for img, y in zip(d["femnist_x"], d["femnist_y"], strict=True):
                src.images.setdefault(CHARS[int(y)], []).append(img)
        return src

    def _add_strokes(self, points, stroke_len, form_nstrokes, y, writers, keep) -> None:
        ends = np.cumsum(stroke_len)
        starts = ends - stroke_len
        first = np.cumsum(form_nstrokes) - form_nstrokes
        for i in np.flatnonzero(keep):
            k0, n = int(first[i]), int(form_nstrokes[i])
            strokes = [points[starts[k] : ends[k]].astype(np.float32) for k in range(k0, k0 + n)]
            strokes = [s[:, :2] for s in strokes if len(s)]
            if strokes:
                self.strokes.setdefault(CHARS[int(y[i])], []).append((str(writers[i]), strokes))

    def writers(self) -> list[str]:
        """Writers ordered by how many different characters they wrote (most first)."""
        cover: dict[str, set[str]] = {}
        for ch, items in self.strokes.items():
            for w, _ in items:
                cover.setdefault(w, set()).add(ch)
        return sorted(cover, key=lambda w: (-len(cover[w]), w))

    def save_sample(
        self, path: Path, rng: np.random.Generator, per_char: int = 6, femnist_per_char: int = 2
    ) -> None:
        """Write a small sample of this source (for tests that must run without ../shared)."""
        pts, slen, nstr, ys, ws, fx, fy = [], [], [], [], [], [], []
        for ch in CHARS:
            items = self.strokes.get(ch, [])
            for j in rng.permutation(len(items))[:per_char]:
                w, strokes = items[j]
                for s in strokes:
                    pts.append(np.round(s).astype(np.int16))
                    slen.append(len(s))
                nstr.append(len(strokes))
                ys.append(CHARS.index(ch))
                ws.append(w)
            imgs = self.images.get(ch, [])
            for j in rng.permutation(len(imgs))[:femnist_per_char]:
                fx.append(imgs[j])
                fy.append(CHARS.index(ch))
        np.savez_compressed(
            path,
            points=np.concatenate(pts),
            stroke_len=np.array(slen, np.int32),
            form_nstrokes=np.array(nstr, np.int32),
            y_byclass=np.array(ys, np.uint8),
            writer=np.array(ws),
            femnist_x=np.stack(fx).astype(np.uint8),
            femnist_y=np.array(fy, np.uint8),
        )


@dataclass
class TruthChar:
    """One ground-truth character: its text, box ``[x, y, w, h]``, line and word index."""

    char: str
    box: list[int]
    line: int
    word: int


@dataclass
class GeneratedPage:
    """A synthetic page: grey image (uint8, 255 = white), its text and character boxes."""

    image: np.ndarray
    text: str
    chars: list[TruthChar]
    photo: bool = False

    def truth_dict(self) -> dict:
        """JSON-ready ground truth."""
        return {
            "text": self.text,
            "size": [int(self.image.shape[1]), int(self.image.shape[0])],
            "photo": self.photo,
            "chars": [{"char": c.char, "box": c.box, "line": c.line, "word": c.word} for c in self.chars],
        }


# The web-frequency list holds words that do not belong on a sample page.
_BLOCKED = set(
    "sex sexy porn incest nude naked fuck fucking xxx gay teen teens adult adults erotic lesbian "
    "shemale milf dick cock pussy tits boobs anal rape horny slut whore hardcore bdsm fetish escort "
    "sluts nudes viagra cialis casino gambling penis vagina orgasm".split()
)


def _word_list() -> list[str]:
    """Common English words (symspellpy's bundled frequency list, top entries)."""
    import importlib.resources

    ref = importlib.resources.files("symspellpy") / "frequency_dictionary_en_82_765.txt"
    words = []
    with ref.open("r", encoding="utf-8") as fh:
        for line in fh:
            w = line.split()[0]
            if w.isalpha() and w.isascii() and 2 <= len(w) <= 9 and w not in _BLOCKED:
                words.append(w)
            if len(words) >= 3000:
                break
    return words


_WORDS: list[str] | None = None


def random_text(rng: np.random.Generator, n_lines: int = 6, words_per_line: tuple[int, int] = (3, 5)) -> str:
    """Lines of words: mostly common lower-case words, some Capitalised, some CAPS, some numbers."""
    global _WORDS
    if _WORDS is None:
        _WORDS = _word_list()
    lines = []
    for _ in range(n_lines):
        words = []
        for _ in range(int(rng.integers(words_per_line[0], words_per_line[1] + 1))):
            r = rng.random()
            if r < 0.08:
                words.append(str(int(rng.integers(0, 10 ** int(rng.integers(1, 5))))))
            else:
                w = _WORDS[int(min(rng.exponential(600), len(_WORDS) - 1))]
                if r > 0.95:
                    w = w.upper()
                elif r > 0.85:
                    w = w.capitalize()
                words.append(w)
        lines.append(" ".join(words))
    return "\n".join(lines)


def _render_strokes(strokes: list[np.ndarray], target_h: float, pen: float, max_aspect: float = 1.4):
    """Draw pen strokes scaled to ``target_h`` pixels tall; returns (ink float32 0..1, ox, oy)."""
    allp = np.concatenate(strokes)
    x0, y0 = allp.min(0)
    x1, y1 = allp.max(0)
    gh, gw = max(y1 - y0, 1.0), max(x1 - x0, 1.0)
    s = target_h / gh
    if gw * s > max_aspect * target_h * 1.5:  # a very wide glyph (e.g. 'm', 'w') may be wide, but not absurd
        s = max_aspect * target_h * 1.5 / gw
    pad = int(np.ceil(pen)) + 2
    w = int(np.ceil(gw * s)) + 2 * pad
    h = int(np.ceil(gh * s)) + 2 * pad
    sub = 4  # sub-pixel precision for anti-aliased lines
    canvas = np.zeros((h, w), np.uint8)
    for st in strokes:
        p = ((st - (x0, y0)) * s + pad) * (1 << sub)
        p = np.round(p).astype(np.int32).reshape(-1, 1, 2)
        if len(p) == 1:
            p = np.concatenate([p, p + 1])
        cv2.polylines(canvas, [p], False, 255, max(1, int(round(pen))), cv2.LINE_AA, shift=sub)
    return canvas.astype(np.float32) / 255.0, pad


def _render_image(img: np.ndarray, target_h: float, pen: float):
    """Upscale a 28 x 28 NIST glyph to ``target_h`` pixels tall; returns (ink float32 0..1, pad)."""
    a = img.astype(np.float32) / 255.0
    on = a > 0.2
    rows, cols = np.flatnonzero(on.any(1)), np.flatnonzero(on.any(0))
    a = a[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    s = target_h / a.shape[0]
    w = max(1, int(round(a.shape[1] * s)))
    big = cv2.resize(a, (w, max(1, int(round(target_h)))), interpolation=cv2.INTER_CUBIC)
    big = np.clip((big - 0.25) * 2.5, 0, 1)  # sharpen the blurry upscale into a pen-like edge
    pad = 2
    return np.pad(big, pad), pad


def _placement(ch: str, cap: float) -> tuple[float, float]:
    """Return (glyph height, top offset above the baseline) for a character, in pixels."""
    xh = X_HEIGHT * cap
    if ch.isdigit() or ch.isupper() or ch in ASCENDERS:
        return (0.88 * cap if ch == "t" else cap), (0.88 * cap if ch == "t" else cap)
    if ch == "i":
        return 0.9 * cap, 0.9 * cap
    if ch == "j":
        return 1.25 * cap, 0.9 * cap
    if ch in DESCENDERS:
        return xh + 0.4 * cap, xh
    return xh, xh


def make_page(
    source: GlyphSource,
    rng: np.random.Generator,
    text: str | None = None,
    *,
    width: int = 1400,
    cap: float | None = None,
    photo: bool = False,
    femnist: bool = False,
    n_lines: int = 6,
    grain: float = 1.5,
) -> GeneratedPage:
    """Compose a handwritten page of ``text`` (random text if None) from test-writer glyphs."""
    if text is None:
        text = random_text(rng, n_lines=n_lines)
    cap = float(cap if cap is not None else rng.uniform(34, 48))
    pen = max(1.5, cap * rng.uniform(0.07, 0.1))
    writers = source.writers()
    main_writer = writers[int(rng.integers(0, min(len(writers), 30)))] if writers else ""
    margin = int(rng.uniform(0.06, 0.1) * width)
    line_gap = cap * rng.uniform(2.0, 2.5)
    lines = text.split("\n")
    height = int(2 * margin + line_gap * (len(lines) + 0.5))
    ink = np.zeros((height, width), np.float32)
    truth: list[TruthChar] = []
    for li, line in enumerate(lines):
        slope = np.tan(np.deg2rad(rng.uniform(-1.5, 1.5)))
        base_y = margin + cap * 1.2 + li * line_gap
        x = margin + rng.uniform(0, cap)
        x_start = x
        for wi, word in enumerate(line.split(" ")):
            if not word:
                continue
            wx = x + (cap * rng.uniform(0.75, 1.05) if wi else 0.0)
            placed = []  # draw a word only when all of it fits on the line
            for ch in word:
                gh, top = _placement(ch, cap)
                size = rng.uniform(0.92, 1.08)
                if femnist and source.images.get(ch):
                    imgs = source.images[ch]
                    glyph, pad = _render_image(imgs[int(rng.integers(len(imgs)))], gh * size, pen)
                else:
                    items = source.strokes.get(ch) or source.strokes.get(ch.swapcase()) or []
                    if not items:
                        raise ValueError(f"no glyph for {ch!r}")
                    own = [it for it in items if it[0] == main_writer]
                    _, strokes = (own or items)[int(rng.integers(len(own or items)))]
                    glyph, pad = _render_strokes(strokes, gh * size, pen)
                gy = base_y + (wx - x_start) * slope - top * size + rng.normal(0, 0.04 * cap) - pad
                gx = wx - pad
                placed.append((ch, glyph, int(round(gx)), int(round(gy))))
                wx = gx + glyph.shape[1] - pad + pen + cap * rng.uniform(0.1, 0.25)
            if any(
                ix + g.shape[1] >= width - margin // 3 or iy < 0 or iy + g.shape[0] >= height
                for _, g, ix, iy in placed
            ):
                break  # the word does not fit: end the line here
            for ch, glyph, ix, iy in placed:
                h, w = glyph.shape
                ink[iy : iy + h, ix : ix + w] = np.maximum(ink[iy : iy + h, ix : ix + w], glyph)
                on = glyph > 0.25
                rows, cols = np.flatnonzero(on.any(1)), np.flatnonzero(on.any(0))
                box = [
                    ix + int(cols[0]),
                    iy + int(rows[0]),
                    int(cols[-1] - cols[0] + 1),
                    int(rows[-1] - rows[0] + 1),
                ]
                truth.append(TruthChar(ch, box, li, wi))
            x = wx
    text_out = _truth_text(truth)
    paper = rng.uniform(232, 250)
    ink_level = rng.uniform(20, 70)
    img = paper - ink * (paper - ink_level)
    if grain:
        img += rng.normal(0, grain, img.shape)  # paper grain (costs PNG size)
    page = GeneratedPage(np.clip(img, 0, 255).astype(np.uint8), text_out, truth)
    return photograph(page, rng) if photo else page


def _truth_text(chars: list[TruthChar]) -> str:
    lines: dict[int, dict[int, str]] = {}
    for c in chars:
        lines.setdefault(c.line, {}).setdefault(c.word, "")
        lines[c.line][c.word] += c.char
    return "\n".join(" ".join(words[k] for k in sorted(words)) for _, words in sorted(lines.items()))


def photograph(
    page: GeneratedPage, rng: np.random.Generator, out_long_side: int | None = None
) -> GeneratedPage:
    """Photograph a clean page: perspective on a background, light gradient, shadow, blur, noise, JPEG."""
    src = page.image
    h, w = src.shape
    long_side = out_long_side or int(max(w, h) * rng.uniform(1.15, 1.3))
    ow, oh = (long_side, int(long_side * 0.75)) if w > h else (int(long_side * 0.75), long_side)
    # Paper corners: the page fills 70-85% of the frame, each corner moved a little.
    fill = rng.uniform(0.72, 0.86)
    s = min(ow * fill / w, oh * fill / h)
    cx, cy = ow / 2 + rng.uniform(-0.04, 0.04) * ow, oh / 2 + rng.uniform(-0.04, 0.04) * oh
    base = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]]) * s
    ang = np.deg2rad(rng.uniform(-6, 6))
    rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    dst = base @ rot.T + (cx, cy) + rng.uniform(-0.03, 0.03, (4, 2)) * (w * s, h * s)
    srcq = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    hom = cv2.getPerspectiveTransform(srcq, dst.astype(np.float32))
    # Background: a dark-ish table with coarse texture.
    bg_level = rng.uniform(60, 140)
    bg = np.full((oh, ow), bg_level, np.float32)
    tex = cv2.resize(rng.normal(0, 12, (max(2, oh // 40), max(2, ow // 40))).astype(np.float32), (ow, oh))
    bg += tex
    warped = cv2.warpPerspective(
        src.astype(np.float32), hom, (ow, oh), flags=cv2.INTER_LINEAR, borderValue=-1
    )
    mask = cv2.warpPerspective(np.ones_like(src, np.float32), hom, (ow, oh), flags=cv2.INTER_LINEAR)
    img = warped * mask + bg * (1 - mask)
    # Uneven light: a smooth gradient; a soft shadow (a hand or a phone) across part of the page.
    yy, xx = np.mgrid[0:oh, 0:ow].astype(np.float32)
    gx, gy = rng.uniform(-0.35, 0.35, 2)
    light = 1.0 + gx * (xx / ow - 0.5) + gy * (yy / oh - 0.5)
    shadow = np.ones((oh, ow), np.float32)
    poly = np.array(
        [[rng.uniform(0, ow), 0], [rng.uniform(0, ow), oh], [ow if rng.random() < 0.5 else 0, oh], [ow, 0]],
        np.int32,
    )
    cv2.fillPoly(shadow, [poly], float(rng.uniform(0.6, 0.8)))
    shadow = cv2.GaussianBlur(shadow, (0, 0), sigmaX=ow * 0.03)
    img = img * light * shadow
    img = cv2.GaussianBlur(img, (0, 0), sigmaX=float(rng.uniform(0.6, 1.2)))
    img += rng.normal(0, rng.uniform(2, 5), img.shape)
    img8 = np.clip(img, 0, 255).astype(np.uint8)
    ok, enc = cv2.imencode(".jpg", img8, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(70, 92))])
    img8 = cv2.imdecode(enc, cv2.IMREAD_GRAYSCALE)
    chars = []
    for c in page.chars:
        x, y, bw, bh = c.box
        pts = np.array([[[x, y], [x + bw, y], [x + bw, y + bh], [x, y + bh]]], np.float32)
        q = cv2.perspectiveTransform(pts, hom)[0]
        x0, y0 = np.floor(q.min(0)).astype(int)
        x1, y1 = np.ceil(q.max(0)).astype(int)
        chars.append(TruthChar(c.char, [int(x0), int(y0), int(x1 - x0), int(y1 - y0)], c.line, c.word))
    return GeneratedPage(img8, page.text, chars, photo=True)


def cer(truth: str, guess: str) -> float:
    """Character error rate: Levenshtein distance / len(truth) (1.0 if truth is empty and guess is not)."""
    if not truth:
        return 0.0 if not guess else 1.0
    return edit_distance(truth, guess) / len(truth)


def word_accuracy(truth: str, guess: str) -> float:
    """Share of truth words recovered, by word-level alignment (1 - word edit distance / words)."""
    tw, gw = truth.split(), guess.split()
    if not tw:
        return 1.0 if not gw else 0.0
    return max(0.0, 1.0 - edit_distance(tw, gw) / len(tw))


def main(argv: list[str] | None = None) -> int:
    """Write a few pages and their truth into a folder (for eyeballing and for tests/data/pages)."""
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("-n", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sample", action="store_true", help="use the committed sample, not ../shared")
    ap.add_argument("--make-sample", action="store_true", help="(re)write tests/data/strokes_sample.npz")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    source = GlyphSource.from_sample() if args.sample else GlyphSource.from_shared()
    if args.make_sample:
        source.save_sample(SAMPLE_PATH, rng)
        print("wrote", SAMPLE_PATH, SAMPLE_PATH.stat().st_size, "bytes")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for i in range(args.n):
        for photo in (False, True):
            page = make_page(source, rng, photo=photo, n_lines=4, width=1100, grain=0.0 if not photo else 1.5)
            stem = f"page{i:02d}_{'photo' if photo else 'clean'}"
            ext = ".jpg" if photo else ".png"
            params = [cv2.IMWRITE_JPEG_QUALITY, 85] if photo else [cv2.IMWRITE_PNG_COMPRESSION, 9]
            cv2.imwrite(str(args.out / (stem + ext)), page.image, params)
            (args.out / (stem + ".txt")).write_text(page.text + "\n", encoding="utf-8")
            (args.out / (stem + ".json")).write_text(json.dumps(page.truth_dict()), encoding="utf-8")
            print(stem, (args.out / (stem + ext)).stat().st_size, "bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
