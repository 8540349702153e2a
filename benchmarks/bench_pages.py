"""Page accuracy: character error rate and word accuracy on generated pages, beside Tesseract.

Pages are composed from TEST writers only (UNIPEN pen trajectories; ``--femnist`` adds pages
of upscaled NIST test-writer images), in a clean and a photographed version (perspective on
a background, uneven light, shadow, blur, noise, JPEG). The same image files go to
Tesseract (``tesseract`` binary, ``--psm 6``: one block of text; install with
``apt-get install tesseract-ocr``).

CER = Levenshtein distance / length of the true text, over the whole page (line breaks
count as one character, runs of spaces are collapsed). "nocase" compares lower-cased text.
Word accuracy = 1 - word-level edit distance / true words.

    python benchmarks/bench_pages.py --n 20
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scanner_app.core.classifier import CharClassifier  # noqa: E402
from scanner_app.core.image_io import load_page  # noqa: E402
from scanner_app.core.pipeline import ScanConfig, run_scan  # noqa: E402
from tests.pagegen import GlyphSource, edit_distance, make_page, word_accuracy  # noqa: E402


def normalise(text: str) -> str:
    """Collapse spaces, drop empty lines (Tesseract adds blank lines between paragraphs)."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


def tesseract(path: Path) -> str | None:
    """Run the tesseract binary on an image; None when it is not installed."""
    exe = shutil.which("tesseract")
    if exe is None:
        return None
    proc = subprocess.run(
        [exe, str(path), "stdout", "--psm", "6", "-l", "eng"], capture_output=True, text=True
    )
    return proc.stdout


class Score:
    """Accumulated edit distances over pages."""

    def __init__(self) -> None:
        self.err = self.err_nocase = self.chars = 0
        self.words: list[float] = []
        self.seconds = 0.0

    def add(self, truth: str, guess: str, seconds: float) -> None:
        truth, guess = normalise(truth), normalise(guess)
        self.err += edit_distance(truth, guess)
        self.err_nocase += edit_distance(truth.lower(), guess.lower())
        self.chars += len(truth)
        self.words.append(word_accuracy(truth, guess))
        self.seconds += seconds

    def row(self, name: str) -> str:
        n, chars = max(len(self.words), 1), max(self.chars, 1)
        return (
            f"{name:<34} CER {100 * self.err / chars:6.2f}%   nocase {100 * self.err_nocase / chars:6.2f}%"
            f"   words {100 * float(np.mean(self.words)):6.2f}%   {self.seconds / n:5.2f} s/page"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20, help="pages per condition")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument(
        "--femnist", action="store_true", help="also pages of upscaled NIST (FEMNIST) test-writer glyphs"
    )
    ap.add_argument("--no-tesseract", action="store_true")
    ap.add_argument("--keep", type=Path, help="keep the generated pages in this folder")
    ap.add_argument("--show", type=int, default=0, help="print truth and output of the first N pages")
    ap.add_argument("--model", type=Path, help="model folder (default: the bundled one), to compare models")
    ap.add_argument(
        "--writers",
        choices=("test", "val"),
        default="test",
        help="whose glyphs make the pages: test writers (default) or validation writers (to tune)",
    )
    ap.add_argument(
        "--no-case-by-shape",
        action="store_true",
        help="ignore the model's case head (letter case by height only)",
    )
    args = ap.parse_args(argv)

    source = GlyphSource.from_shared(writers=args.writers)
    base = ScanConfig(case_by_shape=not args.no_case_by_shape)
    clf = CharClassifier.load(args.model)
    conditions = [("clean", False, False), ("photo", True, False)]
    if args.femnist:
        conditions += [("femnist clean", False, True), ("femnist photo", True, True)]
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench_pages_"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"{args.n} pages per condition, {args.writers} writers only, model {clf.card.get('date', '?')}")
    have_tess = not args.no_tesseract and shutil.which("tesseract") is not None
    for name, photo, femnist in conditions:
        rng = np.random.default_rng(args.seed + (1 if photo else 0) + (2 if femnist else 0))
        ours, ours_nodict, tess = Score(), Score(), Score()
        for i in range(args.n):
            gen = make_page(source, rng, photo=photo, femnist=femnist)
            path = folder / f"{name.replace(' ', '_')}_{i:03d}.{'jpg' if photo else 'png'}"
            cv2.imwrite(str(path), gen.image, [cv2.IMWRITE_JPEG_QUALITY, 95] if photo else [])
            t = time.perf_counter()
            page = load_page(path)
            result = run_scan(page, clf, base)
            ours.add(gen.text, result.text, time.perf_counter() - t)
            t = time.perf_counter()
            ours_nodict.add(
                gen.text,
                run_scan(page, clf, replace(base, dictionary=False)).text,
                time.perf_counter() - t,
            )
            if have_tess:
                t = time.perf_counter()
                tess.add(gen.text, tesseract(path) or "", time.perf_counter() - t)
            if i < args.show:
                print(f"--- {path.name}\n{gen.text}\n>>>\n{result.text}")
        print(ours.row(f"{name}: this app"))
        print(ours_nodict.row(f"{name}: this app --no-dictionary"))
        if have_tess:
            print(tess.row(f"{name}: tesseract --psm 6"))
    if not have_tess and not args.no_tesseract:
        print("tesseract not found: apt-get install tesseract-ocr")
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
