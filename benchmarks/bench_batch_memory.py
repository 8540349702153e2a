"""Memory over a batch: 100 pages through the CLI code path must keep memory flat.

Writes 100 generated pages (test writers; clean PNGs and photographed JPEGs, 20 distinct
pages used five times each), then runs ``main(["scan", *pages, "--out-dir", DIR])`` in a
fresh process and prints, after each page, the process's current resident memory (VmRSS) and
its peak so far (ru_maxrss). The per-file hook only reads these figures; the code path is the
CLI's own.

    python benchmarks/bench_batch_memory.py --pages 100
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.pagegen import GlyphSource, make_page  # noqa: E402

CHILD = r"""
import resource, sys
import scanner_app.__main__ as cli

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")

real = cli._scan_file
count = [0]

def measured(*args, **kwargs):
    out = real(*args, **kwargs)
    count[0] += 1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"page {count[0]:3d}  rss {rss_mb():7.1f} MB  peak {peak:7.1f} MB", flush=True)
    return out

cli._scan_file = measured
sys.exit(cli.main(sys.argv[1:]))
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=100)
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="bench_batch_"))
    rng = np.random.default_rng(args.seed)
    source = GlyphSource.from_shared()
    distinct = []
    for i in range(20):
        photo = i % 2 == 1
        page = make_page(source, rng, photo=photo)
        path = folder / f"distinct_{i:02d}.{'jpg' if photo else 'png'}"
        cv2.imwrite(str(path), page.image)
        distinct.append(path)
    pages = []
    for i in range(args.pages):
        src = distinct[i % len(distinct)]
        dst = folder / f"page_{i:03d}{src.suffix}"
        shutil.copy(src, dst)
        pages.append(str(dst))
    out = folder / "out"
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, "scan", *pages, "--out-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    lines = proc.stdout.splitlines()
    for line in lines[::10] + lines[-1:]:
        print(line)
    rss = [float(line.split()[3]) for line in lines if line.startswith("page")]
    if rss:
        # The first pages include warm-up (word list, look-up cache, allocator pools); compare
        # the steady state: pages 21-30 against the last 10.
        warm, last10 = np.mean(rss[20:30]), np.mean(rss[-10:])
        n_out = len(list(out.glob("*.txt")))
        print(
            f"exit {proc.returncode}; {len(rss)} pages; RSS mean pages 21-30 {warm:.1f} MB, "
            f"last 10 {last10:.1f} MB (change {last10 - warm:+.1f} MB); outputs: {n_out}"
        )
    if proc.returncode != 0:
        print(proc.stderr[-2000:])
    shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
