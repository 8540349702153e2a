"""Data: load every handwriting set, split it by writer, frame it like the app, cache it.

Every image that reaches the model goes through :func:`scanner_app.core.crops.frame_batch`
(stroke normalisation on, the default), so training sees exactly what the app feeds the
classifier. The framed arrays are cached under ``model_training/_cache/`` (git-ignored).

Splits (see ``../shared/data/README.md``):

* femnist and unipen are split by writer. A writer is a *test* writer when
  ``int(sha1(writer)) % 5 == 0`` (measuring only). Of the other writers, a second hash
  rule (``int(md5(writer)) % 10 == 0``) picks the *validation* writers (early stopping,
  learning-rate schedule); the rest are training writers.
* mnist: ``x_train`` minus a fixed 5,000-image validation slice trains; ``x_test`` measures.
* chars74k, omniglot and comnist are measuring only.

Classes: 36, digits ``0``-``9`` then ``A``-``Z`` with upper and lower case merged:
``label = y_byclass`` for digits, ``9 + y_letter`` for letters.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scanner_app.core import crops
from scanner_app.core.classifier import sha256_file  # noqa: F401 (re-exported for export.py)

LABELS: tuple[str, ...] = tuple("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
NUM_CLASSES = len(LABELS)
REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = Path(__file__).resolve().parent / "_cache"

FILES = {
    "mnist": "mnist.npz",
    "femnist": "femnist-leaf-sample.npz",
    "unipen": "unipen-train_r01_v07-isolated.npz",
    "chars74k": "chars74k-englishhnd.npz",
    "omniglot": "omniglot-latin.npz",
    "comnist": "comnist-latin-upper-2017.npz",
}
# UNIPEN samples whose label the quality-check model found implausible (see the data README).
UNIPEN_QC_THRESHOLD = 0.1


def data_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """Return the data folder: ``path``, else ``$HWS_DATA_DIR``, else ``../shared/data``."""
    if path:
        return Path(path)
    env = os.environ.get("HWS_DATA_DIR")
    if env:
        return Path(env)
    return REPO_ROOT.parent / "shared" / "data"


def is_test_writer(writer: str) -> bool:
    """Return whether ``writer`` is a held-out test writer (the project's sha1 rule)."""
    return int(hashlib.sha1(writer.encode()).hexdigest(), 16) % 5 == 0


def is_val_writer(writer: str) -> bool:
    """Return whether a non-test ``writer`` is a validation writer (a second, independent hash)."""
    return not is_test_writer(writer) and int(hashlib.md5(writer.encode()).hexdigest(), 16) % 10 == 0


def to_class36(y_byclass: np.ndarray, y_letter: np.ndarray) -> np.ndarray:
    """Map EMNIST ByClass labels (and merged letter labels) to the 36 classes."""
    y_byclass = np.asarray(y_byclass).astype(np.int64)
    y_letter = np.asarray(y_letter).astype(np.int64)
    return np.where(y_byclass < 10, y_byclass, 9 + y_letter).astype(np.int64)


def case_of_byclass(y_byclass: np.ndarray) -> np.ndarray:
    """Return the letter case of EMNIST ByClass labels: 1 upper (10-35), 0 lower (36-61), -1 digit."""
    y = np.asarray(y_byclass).astype(np.int64)
    return np.where(y < 10, -1, np.where(y < 36, 1, 0)).astype(np.int8)


def save_array_atomic(path: Path, array: np.ndarray) -> None:
    """Write a cache array so an interrupted run never leaves a half-written file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, array)
    tmp.replace(path)


@dataclass
class Samples:
    """Raw or framed character images with their 36-class labels.

    ``x`` is uint8 N x 28 x 28 (ink high). ``writer`` is a string per sample ('' when
    unknown); ``clean`` marks samples not flagged by a quality check (all True by default).
    ``strokes`` optionally holds pen trajectories as ``(points, stroke_len, form_nstrokes)``.
    ``case`` is int8 per sample: 1 upper-case letter, 0 lower-case letter, -1 digit or unknown
    (the 36 classes merge the cases; the case head of the model learns it from this).
    """

    name: str
    x: np.ndarray
    y: np.ndarray
    writer: np.ndarray
    clean: np.ndarray | None = None
    strokes: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    case: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.clean is None:
            self.clean = np.ones(len(self.y), bool)
        if self.case is None:
            self.case = np.full(len(self.y), -1, np.int8)
        if not (len(self.x) == len(self.y) == len(self.writer) == len(self.clean) == len(self.case)):
            raise ValueError(f"{self.name}: x, y, writer, clean and case differ in length")

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, mask: np.ndarray, name: str | None = None) -> Samples:
        """Return the samples where ``mask`` is true (strokes are kept only for whole sets)."""
        idx = np.flatnonzero(mask)
        strokes = None
        if self.strokes is not None:
            strokes = subset_strokes(self.strokes, idx)
        return Samples(
            name or self.name,
            self.x[idx],
            self.y[idx],
            self.writer[idx],
            self.clean[idx],
            strokes,
            self.case[idx],
        )


# ---------------------------------------------------------------------------------------------
# Loaders for the npz sets in ../shared/data
# ---------------------------------------------------------------------------------------------


def _strokes_of(d: np.lib.npyio.NpzFile) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    if "points" not in d.files:
        return None
    return (np.asarray(d["points"])[:, :2], np.asarray(d["stroke_len"]), np.asarray(d["form_nstrokes"]))


def load_npz_set(path: Path, name: str) -> Samples:
    """Load one of the EMNIST-convention npz sets (``x``, ``y_byclass``, ``y_letter``, ``writer``)."""
    with np.load(path) as d:
        y = to_class36(d["y_byclass"], d["y_letter"])
        writer = np.asarray(d["writer"]).astype(str)
        clean = None
        if "qc_p_label" in d.files:
            clean = np.asarray(d["qc_p_label"]).astype(np.float32) >= UNIPEN_QC_THRESHOLD
        case = case_of_byclass(d["y_byclass"])
        return Samples(name, np.asarray(d["x"]), y, writer, clean, _strokes_of(d), case)


def load_mnist(path: Path) -> tuple[Samples, Samples]:
    """Load MNIST as (train, test); writers are unknown ('')."""
    with np.load(path) as d:
        tr = Samples(
            "mnist_train", d["x_train"], d["y_train"].astype(np.int64), np.full(len(d["y_train"]), "")
        )
        te = Samples("mnist_test", d["x_test"], d["y_test"].astype(np.int64), np.full(len(d["y_test"]), ""))
    return tr, te


def subset_strokes(
    strokes: tuple[np.ndarray, np.ndarray, np.ndarray], idx: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the pen trajectories of samples ``idx`` as a new ``(points, stroke_len, form_nstrokes)``."""
    points, stroke_len, form_nstrokes = strokes
    stroke_start = np.concatenate([[0], np.cumsum(stroke_len)])
    form_start = np.concatenate([[0], np.cumsum(form_nstrokes)])
    pts, sl, fn = [], [], []
    for i in idx:
        s0, s1 = form_start[i], form_start[i + 1]
        pts.append(points[stroke_start[s0] : stroke_start[s1]])
        sl.append(stroke_len[s0:s1])
        fn.append(s1 - s0)
    if not pts:
        return points[:0], stroke_len[:0], form_nstrokes[:0]
    return np.concatenate(pts), np.concatenate(sl), np.asarray(fn, form_nstrokes.dtype)


# ---------------------------------------------------------------------------------------------
# EMNIST letters, for users who have it (not available offline here)
# ---------------------------------------------------------------------------------------------


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) into a numpy array."""
    opener: Callable = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    shape = struct.unpack(">" + "I" * ndim, raw[4 : 4 + 4 * ndim])
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: expected {shape}, file holds {data.size} values")
    return data.reshape(shape)


def load_emnist_letters_idx(folder: Path, split: str = "train") -> Samples:
    """Load EMNIST letters from the official gzip IDX files in ``folder``.

    Expects ``emnist-letters-{split}-images-idx3-ubyte.gz`` and ``...-labels-idx1-ubyte.gz``
    (uncompressed files are accepted too). EMNIST stores images transposed; they are made
    upright here. Labels 1..26 become classes 10..35. Writers are unknown.
    """

    def find(kind: str, dims: int) -> Path:
        stem = f"emnist-letters-{split}-{kind}-idx{dims}-ubyte"
        for cand in (folder / f"{stem}.gz", folder / stem):
            if cand.exists():
                return cand
        raise FileNotFoundError(f"{folder / stem}.gz not found")

    x = read_idx(find("images", 3)).transpose(0, 2, 1)
    y = read_idx(find("labels", 1)).astype(np.int64)
    if len(x) != len(y):
        raise ValueError(f"EMNIST letters {split}: {len(x)} images but {len(y)} labels")
    return Samples(f"emnist_letters_{split}", np.ascontiguousarray(x), 9 + y, np.full(len(y), ""))


def load_emnist_letters_tfds(split: str = "train") -> Samples:
    """Load EMNIST letters through tensorflow-datasets (``emnist/letters``; needs it installed and online)."""
    try:
        import tensorflow_datasets as tfds  # optional: only for users with internet
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise RuntimeError("tensorflow-datasets is not installed: pip install tensorflow-datasets") from err
    ds = tfds.as_numpy(tfds.load("emnist/letters", split=split, batch_size=-1, as_supervised=True))
    x, y = ds
    # TFDS keeps EMNIST's transposed storage, like the IDX files.
    x = np.asarray(x)[..., 0].transpose(0, 2, 1)
    return Samples(
        f"emnist_letters_tfds_{split}",
        np.ascontiguousarray(x),
        9 + np.asarray(y, np.int64),
        np.full(len(y), ""),
    )


EMNIST_WRITER_NOTE = (
    "EMNIST letters were added to training: they are cut from NIST SD19 without writer ids, so the "
    "NIST (femnist) test writers may be among them and the femnist figures are no longer on unseen "
    "writers; UNIPEN, MNIST, Chars74K, Omniglot and CoMNIST figures are unaffected"
)


def load_emnist_letters(source: str | os.PathLike[str], split: str = "train") -> Samples:
    """Load EMNIST letters from ``source``: a folder of the official IDX files, or ``"tfds"``.

    For users who can download EMNIST (``train --emnist``); writers are unknown, see
    :data:`EMNIST_WRITER_NOTE`.
    """
    if str(source) == "tfds":
        return load_emnist_letters_tfds(split)
    folder = Path(source)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"EMNIST folder {folder} not found: give the folder holding "
            f"emnist-letters-{split}-images-idx3-ubyte.gz, or 'tfds' for tensorflow-datasets"
        )
    return load_emnist_letters_idx(folder, split)


# ---------------------------------------------------------------------------------------------
# Framing through the app's crop code, with a cache
# ---------------------------------------------------------------------------------------------


def _crops_version() -> str:
    return hashlib.sha256(Path(crops.__file__).read_bytes()).hexdigest()[:12]


def frame_cached(
    x: np.ndarray, key: str, *, cache_dir: Path | None = CACHE_DIR, progress: bool = False
) -> np.ndarray:
    """Frame ``x`` with ``crops.frame_batch`` and return uint8 N x 28 x 28; cached by content.

    The cache key combines ``key``, the bytes of ``x`` and the source of ``crops.py``, so a
    change to the framing or the data rebuilds the cache.
    """
    digest = hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()[:16]
    path = None
    if cache_dir is not None:
        path = cache_dir / f"{key}-{digest}-{_crops_version()}.npy"
        if path.exists():
            return np.load(path)
    out = np.empty((len(x), 28, 28), np.uint8)
    step = 20000
    for i in range(0, len(x), step):
        out[i : i + step] = crops.to_uint8(crops.frame_batch(x[i : i + step])[..., None]).reshape(-1, 28, 28)
        if progress:
            print(f"  framing {key}: {min(i + step, len(x))}/{len(x)}", flush=True)
    if path is not None:
        save_array_atomic(path, out)
    return out


def framed(s: Samples, *, cache_dir: Path | None = CACHE_DIR, progress: bool = False) -> Samples:
    """Return a copy of ``s`` whose images went through the app's framing."""
    x = frame_cached(s.x, s.name, cache_dir=cache_dir, progress=progress)
    return Samples(s.name, x, s.y, s.writer, s.clean, s.strokes, s.case)


# ---------------------------------------------------------------------------------------------
# The splits used for training and measuring
# ---------------------------------------------------------------------------------------------


@dataclass
class Splits:
    """Training, validation and test sets (test sets keyed by report name), all framed.

    ``train_raw`` (when asked for) holds the same training samples *before* framing, in the
    same order, so augmentation can distort the original image and frame it afterwards.
    """

    train: list[Samples]
    val: list[Samples]
    test: dict[str, Samples]
    sources: dict[str, dict[str, str]]
    train_raw: list[Samples] = field(default_factory=list)


def split_by_writer(s: Samples) -> tuple[Samples, Samples, Samples]:
    """Split a writer-labelled set into (train, val, test) writers."""
    writers = np.unique(s.writer)
    is_test = np.isin(s.writer, [w for w in writers if is_test_writer(w)])
    is_val = np.isin(s.writer, [w for w in writers if is_val_writer(w)])
    return (
        s.subset(~is_test & ~is_val, f"{s.name}_train"),
        s.subset(is_val, f"{s.name}_val"),
        s.subset(is_test, f"{s.name}_test"),
    )


def letters_digits(s: Samples) -> tuple[Samples, Samples]:
    """Split a set into (letters, digits)."""
    return s.subset(s.y >= 10, f"{s.name}_letters"), s.subset(s.y < 10, f"{s.name}_digits")


def load_splits(
    path: str | os.PathLike[str] | None = None,
    *,
    cache_dir: Path | None = CACHE_DIR,
    drop_unipen_flagged: bool = True,
    keep_raw: bool = False,
    progress: bool = False,
) -> Splits:
    """Load every set, split by writer and frame through ``crops.py``.

    ``drop_unipen_flagged`` drops UNIPEN samples flagged by the quality check from the
    *training and validation* writers only; test writers are always kept whole.
    """
    root = data_dir(path)
    missing = [f for f in FILES.values() if not (root / f).exists()]
    if missing:
        raise FileNotFoundError(f"data files missing in {root}: {', '.join(missing)}")
    sources = {name: {"file": fname, "sha256": sha256_file(root / fname)} for name, fname in FILES.items()}

    def fr(s: Samples) -> Samples:
        return framed(s, cache_dir=cache_dir, progress=progress)

    mnist_tr, mnist_te = load_mnist(root / FILES["mnist"])
    rng = np.random.default_rng(1234)  # fixed: the validation slice never moves
    val_mask = np.zeros(len(mnist_tr), bool)
    val_mask[rng.choice(len(mnist_tr), min(5000, len(mnist_tr) // 10), replace=False)] = True

    f_tr, f_va, f_te = split_by_writer(load_npz_set(root / FILES["femnist"], "femnist"))
    u_tr, u_va, u_te = split_by_writer(load_npz_set(root / FILES["unipen"], "unipen"))
    if drop_unipen_flagged:
        u_tr = u_tr.subset(u_tr.clean, u_tr.name)
        u_va = u_va.subset(u_va.clean, u_va.name)
    m_tr, m_va = mnist_tr.subset(~val_mask, "mnist_train"), mnist_tr.subset(val_mask, "mnist_val")
    raw_train = [f_tr, u_tr, m_tr]

    test: dict[str, Samples] = {}
    fl, fd = letters_digits(fr(f_te))
    ul, ud = letters_digits(fr(u_te))
    test["femnist_letters"], test["femnist_digits"] = fl, fd
    test["unipen_letters"], test["unipen_digits"] = ul, ud
    test["unipen_letters_clean"] = ul.subset(ul.clean, "unipen_test_letters_clean")
    test["unipen_digits_clean"] = ud.subset(ud.clean, "unipen_test_digits_clean")
    test["mnist_test"] = fr(mnist_te)
    for name in ("chars74k", "omniglot", "comnist"):
        test[name] = fr(load_npz_set(root / FILES[name], name))
    return Splits(
        train=[fr(s) for s in raw_train],
        val=[fr(s) for s in (f_va, u_va, m_va)],
        test=test,
        sources=sources,
        train_raw=raw_train if keep_raw else [],
    )


def concat(sets: list[Samples], name: str = "all") -> tuple[np.ndarray, np.ndarray]:
    """Concatenate sets into ``(x uint8 N x 28 x 28, y int64)``."""
    return np.concatenate([s.x for s in sets]), np.concatenate([s.y for s in sets])
