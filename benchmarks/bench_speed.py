"""Speed and memory of one 12-megapixel photo, end to end, beside Tesseract.

A handwritten page (test writers) is photographed at 4000 x 3000 pixels (JPEG). Measured:

* ``cli``: ``python -m scanner_app scan photo.jpg`` in a fresh process: start-up, imports,
  model and word list loading, decoding the JPEG, the scan; wall time, and its peak memory
  (``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` of that child alone);
* ``warm``: the same scan inside this process once everything is loaded (load + scan), the
  figure a GUI user sees for the second and later pages;
* ``tesseract``: the ``tesseract`` binary on the same file (``--psm 6``).

    python benchmarks/bench_speed.py --repeat 3
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.pagegen import GlyphSource, make_page, photograph  # noqa: E402

CHILD = """
import resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
dt = time.perf_counter() - t
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(p.returncode, dt, peak_kb, len(p.stdout.split()))
"""


def run_measured(cmd: list[str]) -> tuple[int, float, float, int]:
    """Run ``cmd`` from a small helper so ru_maxrss covers that one child: (rc, s, MB, words)."""
    out = subprocess.run([sys.executable, "-c", CHILD, *cmd], capture_output=True, text=True, cwd=ROOT).stdout
    rc, dt, kb, words = out.split()
    return int(rc), float(dt), int(kb) / 1024.0, int(words)


def make_photo(path: Path, seed: int) -> str:
    rng = np.random.default_rng(seed)
    page = make_page(GlyphSource.from_shared(), rng, width=2400, cap=60, n_lines=12)
    shot = photograph(page, rng, out_long_side=4000)
    h, w = shot.image.shape
    canvas = np.full((3000, 4000), int(np.median(shot.image[:50])), np.uint8)  # exactly 12 MP
    canvas[: min(h, 3000), : min(w, 4000)] = shot.image[:3000, :4000]
    cv2.imwrite(str(path), canvas, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return page.text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="bench_speed_"))
    photo = folder / "photo_12mp.jpg"
    truth = make_photo(photo, args.seed)
    print(f"page: {photo.name}, 4000 x 3000 px, {len(truth.split())} words of handwriting")

    runs = [
        run_measured([sys.executable, "-m", "scanner_app", "scan", str(photo)]) for _ in range(args.repeat)
    ]
    rc = {r[0] for r in runs}
    best = min(r[1] for r in runs)
    peak = max(r[2] for r in runs)
    print(
        f"cli (fresh process)   best {best:5.2f} s of {args.repeat}   peak memory {peak:6.0f} MB   exit {rc}"
    )

    from scanner_app.core.classifier import CharClassifier
    from scanner_app.core.decode import load_dictionary
    from scanner_app.core.image_io import load_page
    from scanner_app.core.pipeline import run_scan

    clf = CharClassifier.load()
    load_dictionary()
    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        result = run_scan(load_page(photo), clf)
        times.append(time.perf_counter() - t)
    print(f"warm (in process)     best {min(times):5.2f} s   ({len(result.chars)} characters read)")
    self_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"                      this benchmark process peaked at {self_peak:.0f} MB")

    if shutil.which("tesseract"):
        tr = [run_measured(["tesseract", str(photo), "stdout", "--psm", "6"]) for _ in range(args.repeat)]
        t_best, t_peak = min(r[1] for r in tr), max(r[2] for r in tr)
        print(f"tesseract --psm 6     best {t_best:5.2f} s   peak memory {t_peak:6.0f} MB")
    else:
        print("tesseract not found: apt-get install tesseract-ocr")
    shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
