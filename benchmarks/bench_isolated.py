"""Isolated characters through the whole scan path vs. the model on the same characters' crops.

Each TEST-writer UNIPEN character is drawn alone on a white page (pen trajectory at page
scale, as in the page generator) and scanned with ``--charset letters`` or ``digits`` and no
word list; its reading (upper and lower case merged) is compared with the label. The same
characters' data-set crops (28 x 28, rendered from the same trajectories) go straight to the
model, restricted to the same charset. The two accuracies must be within one point: the
page path (binarise, segment, frame) must not lose what the model can read.

    python benchmarks/bench_isolated.py --n 600
    python benchmarks/bench_isolated.py --n 600 --seed 7 11 1 2 3 --show-failures --keep /tmp/fails
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scanner_app.core.classifier import CharClassifier  # noqa: E402
from scanner_app.core.image_io import page_from_array  # noqa: E402
from scanner_app.core.pipeline import ScanConfig, run_scan  # noqa: E402
from tests.pagegen import CHARS, _placement, _render_strokes, data_dir  # noqa: E402


def test_samples(charset: str, n: int, rng: np.random.Generator):
    """Return (strokes list, crops, labels) of n random quality-filtered test-writer samples."""
    with np.load(data_dir() / "unipen-train_r01_v07-isolated.npz", allow_pickle=False) as d:
        y = d["y_byclass"]
        test = np.array([int(hashlib.sha1(w.encode()).hexdigest(), 16) % 5 == 0 for w in d["writer"]])
        kind = y < 10 if charset == "digits" else y >= 10
        idx = np.flatnonzero(test & kind & (d["qc_p_label"].astype(np.float32) >= 0.1))
        idx = rng.choice(idx, size=min(n, len(idx)), replace=False)
        ends = np.cumsum(d["stroke_len"])
        starts = ends - d["stroke_len"]
        first = np.cumsum(d["form_nstrokes"]) - d["form_nstrokes"]
        points, nstrokes = d["points"], d["form_nstrokes"]
        strokes = []
        for i in idx:
            k0 = int(first[i])
            strokes.append(
                [points[starts[k] : ends[k]].astype(np.float32) for k in range(k0, k0 + int(nstrokes[i]))]
            )
        return strokes, d["x"][idx], y[idx]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=600, help="characters per charset")
    ap.add_argument("--seed", type=int, nargs="+", default=[7], help="one or more seeds (one table row each)")
    ap.add_argument("--charset", choices=("letters", "digits"), nargs="+", default=["letters", "digits"])
    ap.add_argument(
        "--show-failures", action="store_true", help="print label, reading and model reading of each miss"
    )
    ap.add_argument("--keep", type=Path, help="write the pages the whole path misreads into this folder")
    args = ap.parse_args(argv)
    clf = CharClassifier.load()
    for seed in args.seed:
        run_seed(clf, seed, args)
    return 0


def run_seed(clf: CharClassifier, seed: int, args: argparse.Namespace) -> None:
    """Print one row per charset for one seed (same samples and sizes as before for ``--seed N``)."""
    rng = np.random.default_rng(seed)
    for charset in ("letters", "digits"):
        if charset not in args.charset:  # draw samples and sizes anyway: each seed's characters stay the same
            rng.uniform(40, 60, size=len(test_samples(charset, args.n, rng)[0]))
            continue
        strokes, crops, ys = test_samples(charset, args.n, rng)
        truth = [CHARS[int(v)].upper() for v in ys]
        model = [a[0][0] for a in clf.top_k(clf.predict_proba(crops.astype(np.float32) / 255.0), 1, charset)]
        model_acc = float(np.mean([m == t for m, t in zip(model, truth, strict=True)]))
        hits, empty = 0, 0
        fails = []
        for k, (st, t, v) in enumerate(zip(strokes, truth, ys, strict=True)):
            ch = CHARS[int(v)]
            cap = float(rng.uniform(40, 60))
            gh, _ = _placement(ch, cap)
            glyph, _ = _render_strokes(st, gh, max(2.0, 0.08 * cap))
            page = np.full((glyph.shape[0] + 120, glyph.shape[1] + 120), 245, np.float32)
            page[60 : 60 + glyph.shape[0], 60 : 60 + glyph.shape[1]] -= glyph * 205
            result = run_scan(
                page_from_array(page.astype(np.uint8)), clf, ScanConfig(charset, dictionary=False)
            )
            got = result.text.replace(" ", "").replace("\n", "").upper()
            empty += got == ""
            hits += got == t
            if got != t:
                fails.append(
                    f"{CHARS[int(v)]}->{got or '-'}{'' if model[k] == t else '(model ' + model[k] + ')'}"
                )
                if args.keep is not None:
                    args.keep.mkdir(parents=True, exist_ok=True)
                    name = f"s{seed}_{charset}_{k:03d}_{CHARS[int(v)]}_read_{got or 'none'}.png"
                    cv2.imwrite(str(args.keep / name), page.astype(np.uint8))
        path_acc = hits / len(truth)
        print(
            f"seed {seed:<3} {charset:<8} n={len(truth)}  whole path {100 * path_acc:6.2f}%"
            f"   model on crops {100 * model_acc:6.2f}%"
            f"   difference {100 * (path_acc - model_acc):+5.2f} points   (empty results: {empty})",
            flush=True,
        )
        if args.show_failures and fails:
            print(
                "   misses (truth->reading, model's reading if it missed too): " + " ".join(fails), flush=True
            )


if __name__ == "__main__":
    raise SystemExit(main())
