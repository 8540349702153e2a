"""Train the character classifier.

The sections follow the Keras examples: setup, data, model, train, evaluate, export.

Run it with ``python -m model_training train [--data DIR] [--epochs N] [--out assets/model]
[--resume] [--seed S]``. TensorBoard logs, checkpoints and the resume backup go to ``runs/<name>/``
(git-ignored).
"""

from __future__ import annotations

import hashlib
import json
import shlex
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import data as D

# ---------------------------------------------------------------------------------------------
# Setup
# ---------------------------------------------------------------------------------------------


@dataclass
class TrainConfig:
    """Everything that decides a training run (stored in the model card)."""

    data: str | None = None
    out: str = "assets/model"
    run_dir: str = "runs/train"
    epochs: int = 30
    batch_size: int = 128
    learning_rate: float = 2e-3
    seed: int = 42
    width: int = 48  # filters of the first convolution block (the others are 2x and 4x)
    stage3_convs: int = 3  # 4W convolutions at 7 x 7 (model depth; 2 until 2026-11-26)
    stage2_convs: int = 2  # 2W convolutions at 14 x 14
    # Exponential moving average of the weights (Adam ``use_ema``), written into the model at the
    # end of every epoch, so validation, checkpoints and the export all use the averaged weights.
    # 0 = off. 0.995 averages over the last ~200 steps (the default since 2026-11-26).
    ema_momentum: float = 0.995
    # Weight of a jointly trained case head's loss (a sigmoid "upper" output: is this letter upper
    # case?), trained on the letters whose case is known; 0 = none. At 0.2 it cost letter accuracy
    # on the validation writers (2026-11-26), so the default is the case probe instead.
    case_weight: float = 0.0
    # After training, fit the case probe (case_probe.py) on the frozen embedding: the "upper" output
    # without touching the class probabilities.
    case_probe: bool = True
    # "auto": bfloat16 compute where the CPU does bfloat16 natively (AVX512-BF16 / AMX), else float32.
    precision: str = "auto"
    resume: bool = False
    verbose: int = 1
    # Training-set ingredients (each measured on the test writers; see README "The model").
    augment_copies: int = 1  # precomputed mouse/pen augmented copies of every real training sample
    rerender_widths: tuple[float, ...] = (0.05, 0.12)  # extra UNIPEN renderings at these stroke widths
    # Restyle the trajectories of those renderings first (augment.restyle_strokes: slant, aspect,
    # each stroke moved and turned on its own); 0 redraws them as written.
    rerender_style: float = 0.0
    fonts_per_char: int = 20  # synthetic font glyphs per (font, character); 0 = none
    in_graph_augment: bool = True  # cheap per-epoch jitter (shift, zoom, rotation, noise)
    # Flagged UNIPEN samples mix label noise with valid unusual styles (cursive a, b, k); training on
    # them bought 1.2 points on all UNIPEN test letters in a short ablation (clean subset -0.5).
    drop_unipen_flagged: bool = False
    # EMNIST letters as extra training data, for users who can download them: a folder with the
    # official IDX files, or "tfds" (tensorflow-datasets, online). None = the offline sets only.
    emnist: str | None = None
    # For smoke tests and ablations: cap the samples taken from each training set (0 = all).
    limit_per_set: int = 0
    max_steps_per_epoch: int = 1000  # an "epoch" = this many batches drawn from the shuffled pool
    export: bool = True
    cache_dir: str | None = str(D.CACHE_DIR)
    extra: dict = field(default_factory=dict)


def resolve_precision(precision: str, cpuinfo: str | None = None) -> str:
    """Return the Keras dtype policy for ``precision`` ("auto", "float32" or "mixed_bfloat16").

    bfloat16 convolutions run about 1.3x faster than float32 on a CPU with AVX512-BF16 or AMX, and
    are emulated (far slower) on one without, so "auto" picks them only where the CPU has them.
    """
    if precision in ("float32", "mixed_bfloat16"):
        return precision
    if precision != "auto":
        raise ValueError(f"precision must be auto, float32 or mixed_bfloat16, not {precision!r}")
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            cpuinfo = ""
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[-1].split())
    return "mixed_bfloat16" if flags & {"avx512_bf16", "amx_bf16"} else "float32"


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


def _limit(s: D.Samples, n: int, rng: np.random.Generator) -> D.Samples:
    if n <= 0 or len(s) <= n:
        return s
    mask = np.zeros(len(s), bool)
    mask[rng.choice(len(s), n, replace=False)] = True
    return s.subset(mask, s.name)


def build_training_arrays(
    cfg: TrainConfig, splits: D.Splits
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
    """Assemble (x_train, y_train, case_train, x_val, y_val, case_val, counts) for training.

    They come from the real sets and the chosen ingredients (``case``: 1 upper, 0 lower, -1 digit
    or unknown).
    """
    from . import augment

    rng = np.random.default_rng(cfg.seed)
    cache = Path(cfg.cache_dir) if cfg.cache_dir else None
    train = [_limit(s, cfg.limit_per_set, rng) for s in splits.train]
    val = [_limit(s, cfg.limit_per_set, rng) for s in splits.val]
    parts_x, parts_y, parts_c = [s.x for s in train], [s.y for s in train], [s.case for s in train]
    counts = {s.name: len(s) for s in train}
    raw = {s.name: s for s in splits.train_raw} if splits.train_raw else {}

    if cfg.augment_copies > 0 and raw:
        for s in train:
            src = raw[s.name]
            idx = np.arange(len(src))
            if cfg.limit_per_set:
                idx = np.sort(rng.choice(len(src), min(len(src), cfg.limit_per_set), replace=False))
            for k in range(cfg.augment_copies):
                xa = augment.augmented_framed(
                    src.x[idx],
                    key=f"{s.name}-aug{k}-n{len(idx)}-s{cfg.seed}",
                    seed=cfg.seed * 1000 + k,
                    cache_dir=cache,
                )
                parts_x.append(xa)
                parts_y.append(src.y[idx])
                parts_c.append(src.case[idx])
                counts[f"{s.name}_aug{k}"] = len(idx)

    if cfg.rerender_widths:
        u = next(s for s in train if s.name == "unipen_train")
        if u.strokes is not None:
            style = cfg.rerender_style
            for k, w in enumerate(cfg.rerender_widths):
                tag = f"w{w}" + (f"-style{style}" if style > 0 else "")
                xr = augment.rerender_framed(
                    u.strokes,
                    width=w,
                    key=f"unipen_train-{tag}-n{len(u)}-s{cfg.seed}",
                    # restyled copies each get their own styles; plain ones keep the seed they always had
                    seed=cfg.seed + (1000 * (k + 1) if style > 0 else 0),
                    cache_dir=cache,
                    style=style,
                )
                parts_x.append(xr)
                parts_y.append(u.y)
                parts_c.append(u.case)
                counts[f"unipen_rerender_{tag}"] = len(u)

    if cfg.fonts_per_char > 0:
        from . import synth

        xs, ys, cs = synth.font_glyphs_framed(
            cfg.fonts_per_char, seed=cfg.seed, cache_dir=cache, with_case=True
        )
        if len(xs):
            parts_x.append(xs)
            parts_y.append(ys)
            parts_c.append(cs)
        counts["font_synth"] = len(xs)

    x_tr, y_tr, c_tr = np.concatenate(parts_x), np.concatenate(parts_y), np.concatenate(parts_c)
    x_va, y_va = D.concat(val)
    c_va = np.concatenate([s.case for s in val])
    return x_tr, y_tr, c_tr, x_va, y_va, c_va, counts


def add_emnist(cfg: TrainConfig, splits: D.Splits, emnist: D.Samples | None = None) -> int:
    """Add EMNIST letters (``cfg.emnist``) to the training sets; return how many were added.

    The framed images join ``splits.train`` and the upright originals ``splits.train_raw`` (for
    the augmented copies); the data set's content hash joins ``splits.sources`` for the card.
    ``emnist`` is the loaded set when the caller already has it.
    """
    if not cfg.emnist:
        return 0
    if emnist is None:
        emnist = D.load_emnist_letters(cfg.emnist)
    cache = Path(cfg.cache_dir) if cfg.cache_dir else None
    splits.train.append(D.framed(emnist, cache_dir=cache, progress=cfg.verbose > 0))
    if splits.train_raw:
        splits.train_raw.append(emnist)  # augmented copies come from the upright originals
    digest = hashlib.sha256(emnist.x.tobytes() + emnist.y.tobytes()).hexdigest()
    splits.sources["emnist_letters"] = {"file": str(cfg.emnist), "content_sha256": digest}
    _log(f"EMNIST letters: {len(emnist)} samples added. {D.EMNIST_WRITER_NOTE}")
    return len(emnist)


def make_dataset(
    x: np.ndarray,
    y: np.ndarray,
    batch: int,
    *,
    training: bool,
    seed: int,
    in_graph_augment: bool,
    case: np.ndarray | None = None,
):
    """Return a tf.data pipeline: uint8 -> float 0..1 (N, 28, 28, 1), shuffled, jittered, prefetched.

    With ``case`` the targets are ``{"probs": class, "upper": case}`` for a model with a case head.
    """
    import tensorflow as tf

    from .augment import graph_augment

    target = y.astype(np.int32)
    if case is not None:
        target = {"probs": target, "upper": case.astype(np.float32)[:, None]}
    ds = tf.data.Dataset.from_tensor_slices((x, target))
    if training:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch, drop_remainder=False)

    def to_float(xb, yb):
        return tf.cast(xb, tf.float32)[..., None] / 255.0, yb

    ds = ds.map(to_float, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if training and in_graph_augment:
        ds = ds.map(
            lambda xb, yb: (graph_augment(xb, seed), yb),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
    return ds.prefetch(tf.data.AUTOTUNE)


# ---------------------------------------------------------------------------------------------
# Train
# ---------------------------------------------------------------------------------------------


SPLIT_RULE = (
    "femnist/unipen: test writer iff int(sha1(writer)) % 5 == 0; validation writers: "
    "int(md5(writer)) % 10 == 0 among the others; mnist: official test split, 5000 train images held out "
    "for validation; chars74k, omniglot, comnist: measuring only"
)


def _portable(cfg: dict) -> dict:
    """Return the config for the card: tuples as lists, paths inside the repository made relative."""
    out = {}
    for k, v in cfg.items():
        if isinstance(v, tuple):
            v = list(v)
        elif isinstance(v, str) and Path(v).is_absolute() and Path(v).is_relative_to(D.REPO_ROOT):
            v = str(Path(v).relative_to(D.REPO_ROOT))
        out[k] = v
    return out


def card_basics(
    cfg: TrainConfig, argv: list[str] | None, counts: dict[str, int], n_train: int, n_val: int, sources: dict
) -> dict:
    """Return the model-card facts known before training starts (saved in the run folder)."""
    return {
        "training": {
            "command": "python -m model_training " + shlex.join(argv if argv is not None else sys.argv[1:]),
            "config": _portable(asdict(cfg)),
            "samples": counts,
            "train_samples": int(n_train),
            "val_samples": int(n_val),
            "compute_precision": resolve_precision(cfg.precision),
        },
        "data_sets": sources,
        "split_rule": SPLIT_RULE,
    } | ({"emnist_note": D.EMNIST_WRITER_NOTE} if cfg.emnist else {})


def export_checkpoint(checkpoint: str, run_dir: str, out: str) -> dict:
    """Export a saved checkpoint (e.g. ``runs/train/best.keras`` of a run cut short) to ``out``.

    The card takes the run's recorded facts (``card_partial.json``, ``history.csv``); run
    ``python -m model_training evaluate`` afterwards to add the test accuracies.
    """
    import csv

    import keras

    from .export import export

    rd = Path(run_dir)
    card = json.loads((rd / "card_partial.json").read_text())
    hist_path = rd / "history.csv"
    if hist_path.exists():
        with hist_path.open() as f:
            rows = list(csv.DictReader(f))
        card["training"]["epochs_run"] = len(rows)
        card["training"]["best_val_acc"] = max(
            (float(r.get("val_acc") or r.get("val_probs_acc") or 0.0) for r in rows), default=0.0
        )
        card["training"]["seconds_note"] = "exported from a checkpoint; see history.csv for epoch times"
    card["training"]["exported_from"] = checkpoint
    model = keras.saving.load_model(checkpoint)
    return export(model, Path(out), card)


def run(cfg: TrainConfig, argv: list[str] | None = None) -> dict:
    """Train, evaluate on the held-out test writers and export; return the model card."""
    import keras
    import tensorflow as tf

    t0 = time.time()
    keras.utils.set_random_seed(cfg.seed)
    tf.config.experimental.enable_op_determinism()
    run_dir = Path(cfg.run_dir)
    backup = run_dir / "backup"
    if not cfg.resume and backup.exists():
        shutil.rmtree(backup)  # a fresh run must not silently continue an old one
    run_dir.mkdir(parents=True, exist_ok=True)

    # Data ------------------------------------------------------------------------------------
    # A wrong EMNIST folder fails here, before minutes of framing.
    emnist = D.load_emnist_letters(cfg.emnist) if cfg.emnist else None
    _log("loading and framing data (cached under model_training/_cache)")
    splits = D.load_splits(
        cfg.data,
        cache_dir=Path(cfg.cache_dir) if cfg.cache_dir else None,
        drop_unipen_flagged=cfg.drop_unipen_flagged,
        keep_raw=True,
        progress=True,
    )
    add_emnist(cfg, splits, emnist)
    x_tr, y_tr, c_tr, x_va, y_va, c_va, counts = build_training_arrays(cfg, splits)
    _log(f"train {len(x_tr)} samples {counts}; validation {len(x_va)}")
    partial = card_basics(cfg, argv, counts, len(x_tr), len(x_va), splits.sources)
    (run_dir / "card_partial.json").write_text(json.dumps(partial, indent=1))
    with_case = cfg.case_weight > 0
    ds_tr = make_dataset(
        x_tr,
        y_tr,
        cfg.batch_size,
        training=True,
        seed=cfg.seed,
        in_graph_augment=cfg.in_graph_augment,
        case=c_tr if with_case else None,
    )
    ds_va = make_dataset(
        x_va,
        y_va,
        512,
        training=False,
        seed=cfg.seed,
        in_graph_augment=False,
        case=c_va if with_case else None,
    )
    steps = cfg.max_steps_per_epoch or None
    if steps:
        ds_tr = ds_tr.repeat()

    # Model -----------------------------------------------------------------------------------
    from .model import build_model, float32_copy

    policy = resolve_precision(cfg.precision)
    _log(f"compute precision: {policy}")
    keras.mixed_precision.set_global_policy(policy)
    model = build_model(
        width=cfg.width, stage3_convs=cfg.stage3_convs, stage2_convs=cfg.stage2_convs, case_head=with_case
    )
    steps_per_epoch = steps or -(-len(x_tr) // cfg.batch_size)
    ema = (
        dict(use_ema=True, ema_momentum=cfg.ema_momentum, ema_overwrite_frequency=steps_per_epoch)
        if cfg.ema_momentum
        else {}
    )
    if with_case:
        from .model import masked_case_loss

        model.compile(
            optimizer=keras.optimizers.Adam(cfg.learning_rate, **ema),
            loss={"probs": keras.losses.SparseCategoricalCrossentropy(), "upper": masked_case_loss},
            loss_weights={"probs": 1.0, "upper": cfg.case_weight},
            metrics={"probs": [keras.metrics.SparseCategoricalAccuracy(name="acc")]},
        )
    else:
        model.compile(
            optimizer=keras.optimizers.Adam(cfg.learning_rate, **ema),
            loss=keras.losses.SparseCategoricalCrossentropy(),
            metrics=[keras.metrics.SparseCategoricalAccuracy(name="acc")],
        )
    # Early stopping, the checkpoint and the learning rate follow the 36-class head alone.
    val_acc = "val_probs_acc" if with_case else "val_acc"
    val_loss = "val_probs_loss" if with_case else "val_loss"
    if cfg.verbose:
        model.summary(print_fn=lambda s, **_: print(s, flush=True))

    callbacks = [
        keras.callbacks.BackupAndRestore(str(backup)),
        keras.callbacks.EarlyStopping(monitor=val_acc, patience=6, restore_best_weights=True, mode="max"),
        keras.callbacks.ReduceLROnPlateau(monitor=val_loss, mode="min", factor=0.3, patience=2, min_lr=1e-5),
        keras.callbacks.ModelCheckpoint(
            str(run_dir / "best.keras"), monitor=val_acc, mode="max", save_best_only=True
        ),
        keras.callbacks.TensorBoard(
            log_dir=str(run_dir / "tensorboard"), histogram_freq=0, write_graph=False
        ),
        keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=cfg.resume),
    ]
    history = model.fit(
        ds_tr,
        validation_data=ds_va,
        epochs=cfg.epochs,
        steps_per_epoch=steps,
        callbacks=callbacks,
        verbose=cfg.verbose,
        shuffle=False,  # tf.data already shuffles
    )
    train_seconds = time.time() - t0
    _log(f"training done in {train_seconds / 60:.1f} min")
    model = float32_copy(model)  # evaluate and export exactly what the app will run
    keras.mixed_precision.set_global_policy("float32")
    probe_facts = None
    if cfg.case_probe and not with_case:
        from .case_probe import fit_case_probe

        model, probe_facts = fit_case_probe(model, splits.train, splits.val, seed=cfg.seed)
        _log(f"case probe: {probe_facts}")

    # Evaluate --------------------------------------------------------------------------------
    from .evaluate import accuracy_table

    test_x = {k: v.x for k, v in splits.test.items()}
    test_y = {k: v.y for k, v in splits.test.items()}
    from .model import predict_probs

    probs = {k: predict_probs(model, x.astype(np.float32)[..., None] / 255.0) for k, x in test_x.items()}
    acc = accuracy_table(probs, test_y)
    for k, v in acc.items():
        _log(f"  {k:24s} {v['accuracy']:.4f}  in charset {v['accuracy_charset']:.4f}  (n={v['n']})")

    # Export ----------------------------------------------------------------------------------
    hist = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    card = dict(partial)
    card["training"] = dict(partial["training"])
    card["training"].update(
        seconds=round(train_seconds, 1),
        epochs_run=len(hist.get("loss", [])),
        best_val_acc=max(hist.get(val_acc, [0.0])),
    )
    card |= {
        "test_accuracy": {k: round(v["accuracy"], 4) for k, v in acc.items()},
        "test_accuracy_charset": {k: round(v["accuracy_charset"], 4) for k, v in acc.items()},
        "test_accuracy_note": "Keras model on crops framed by crops.py; `python -m model_training evaluate` "
        "recomputes these with the ONNX runtime model",
    }
    if probe_facts is not None:
        card["case_probe"] = probe_facts
    (run_dir / "history.json").write_text(json.dumps(hist, indent=1))
    (run_dir / "result.json").write_text(json.dumps(card, indent=1))
    if cfg.export:
        from .export import export

        card = export(model, Path(cfg.out), card)
        _log(f"exported to {cfg.out}")
    return card
