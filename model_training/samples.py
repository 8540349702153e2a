"""Cut the small committed test samples from the full data sets (run once by a developer).

``python -m model_training.samples`` writes

* ``tests/data/train_mini/``: the six npz sets, a few writers each, same keys and file names
  as ``../shared/data`` (so ``load_splits`` and a training smoke run work on it);
* ``tests/data/sample_crops.npz``: 360 framed crops from *test* writers and measuring-only sets
  (``x`` uint8 N x 28 x 28, ``y`` 0..35, ``source``), 10 per class, for the classifier tests.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from . import data as D

OUT = D.REPO_ROOT / "tests" / "data"


def _pick_writers(writers: np.ndarray, rng: np.random.Generator, n_test: int, n_val: int, n_train: int):
    uniq = np.unique(writers)
    rng.shuffle(uniq)
    test = [w for w in uniq if D.is_test_writer(w)][:n_test]
    val = [w for w in uniq if D.is_val_writer(w)][:n_val]
    train = [w for w in uniq if not D.is_test_writer(w) and not D.is_val_writer(w)][:n_train]
    return test + val + train


def _rows(writers: np.ndarray, chosen: list[str], per_writer: int, rng: np.random.Generator) -> np.ndarray:
    rows = []
    for w in chosen:
        idx = np.flatnonzero(writers == w)
        rows.extend(rng.choice(idx, min(per_writer, len(idx)), replace=False))
    return np.sort(np.asarray(rows))


def _subset_npz(src: Path, rows: np.ndarray) -> dict[str, np.ndarray]:
    with np.load(src) as d:
        out = {k: d[k][rows] for k in d.files if k not in ("points", "stroke_len", "form_nstrokes")}
        if "points" in d.files:
            pts, sl, fn = D.subset_strokes((d["points"], d["stroke_len"], d["form_nstrokes"]), rows)
            out.update(points=pts, stroke_len=sl, form_nstrokes=fn)
    return out


def write_mini_data(src: Path, dst: Path, seed: int = 0) -> None:
    """Write tiny versions of the six data sets from ``src`` into ``dst``."""
    rng = np.random.default_rng(seed)
    dst.mkdir(parents=True, exist_ok=True)
    for name in ("femnist", "unipen"):
        with np.load(src / D.FILES[name]) as d:
            writers = d["writer"].astype(str)
        chosen = _pick_writers(writers, rng, 2, 2, 5)
        np.savez_compressed(
            dst / D.FILES[name], **_subset_npz(src / D.FILES[name], _rows(writers, chosen, 25, rng))
        )
    with np.load(src / D.FILES["mnist"]) as d:
        tr = rng.choice(len(d["y_train"]), 300, replace=False)
        te = rng.choice(len(d["y_test"]), 60, replace=False)
        np.savez_compressed(
            dst / D.FILES["mnist"],
            x_train=d["x_train"][tr],
            y_train=d["y_train"][tr],
            x_test=d["x_test"][te],
            y_test=d["y_test"][te],
        )
    for name in ("chars74k", "omniglot", "comnist"):
        with np.load(src / D.FILES[name]) as d:
            n = len(d["y_byclass"])
        rows = np.sort(rng.choice(n, 40, replace=False))
        np.savez_compressed(dst / D.FILES[name], **_subset_npz(src / D.FILES[name], rows))


def write_sample_crops(src: Path, dst: Path, per_class: int = 10, seed: int = 0) -> None:
    """Write framed crops from test writers / measuring-only sets, ``per_class`` per class."""
    rng = np.random.default_rng(seed)
    splits = D.load_splits(src)
    pools = {
        "femnist_test": [splits.test["femnist_letters"], splits.test["femnist_digits"]],
        "unipen_test_clean": [splits.test["unipen_letters_clean"], splits.test["unipen_digits_clean"]],
        "mnist_test": [splits.test["mnist_test"]],
        "chars74k": [splits.test["chars74k"]],
    }
    xs, ys, srcs = [], [], []
    for c in range(D.NUM_CLASSES):
        cands = [(name, s, i) for name, sets in pools.items() for s in sets for i in np.flatnonzero(s.y == c)]
        pick = rng.choice(len(cands), min(per_class, len(cands)), replace=False)
        for j in pick:
            name, s, i = cands[j]
            xs.append(s.x[i])
            ys.append(c)
            srcs.append(name)
    np.savez_compressed(dst, x=np.stack(xs), y=np.asarray(ys, np.int64), source=np.asarray(srcs))


if __name__ == "__main__":
    src = D.data_dir(sys.argv[1] if len(sys.argv) > 1 else None)
    write_mini_data(src, OUT / "train_mini")
    write_sample_crops(src, OUT / "sample_crops.npz")
    print(f"wrote {OUT / 'train_mini'} and {OUT / 'sample_crops.npz'}")
