"""Evaluate: accuracy per test set and per class, a confusion matrix and a JSON report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .data import LABELS


def charset_accuracy(p: np.ndarray, y: np.ndarray) -> float:
    """Top-1 accuracy when the app is told the charset: digits for digit samples, letters for letters.

    This is what the app's ``charset="digits"`` / ``"letters"`` option gives, and it removes the
    ambiguities no model can resolve from a lone crop (0/O, 1/I, 5/S, 2/Z).
    """
    if len(y) == 0:
        return float("nan")
    digit_pred = p[:, :10].argmax(1)
    letter_pred = 10 + p[:, 10:].argmax(1)
    pred = np.where(y < 10, digit_pred, letter_pred)
    return float((pred == y).mean())


def accuracy_table(probs: dict[str, np.ndarray], labels: dict[str, np.ndarray]) -> dict[str, dict]:
    """Return per set ``{"accuracy", "accuracy_charset", "n", "per_class": {label: [correct, n]}}``.

    ``accuracy`` is plain 36-way top-1; ``accuracy_charset`` restricts to digits or letters
    according to the true class (see :func:`charset_accuracy`).
    """
    out: dict[str, dict] = {}
    for name, p in probs.items():
        y = labels[name]
        pred = p.argmax(1)
        per = {}
        for c in np.unique(y):
            m = y == c
            per[LABELS[int(c)]] = [int((pred[m] == c).sum()), int(m.sum())]
        out[name] = {
            "accuracy": float((pred == y).mean()) if len(y) else float("nan"),
            "accuracy_charset": charset_accuracy(p, y),
            "n": int(len(y)),
            "per_class": per,
        }
    return out


def confusion(y: np.ndarray, pred: np.ndarray, n: int = len(LABELS)) -> np.ndarray:
    """Return the n x n confusion matrix (rows: true class, columns: predicted class)."""
    m = np.zeros((n, n), np.int64)
    np.add.at(m, (y, pred), 1)
    return m


def plot_confusion(m: np.ndarray, path: Path, title: str) -> None:
    """Save a confusion-matrix PNG (row-normalised, log colour scale for the small errors)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    rows = m.sum(1, keepdims=True)
    frac = np.where(rows > 0, m / np.maximum(rows, 1), 0.0)
    fig, ax = plt.subplots(figsize=(9, 8), dpi=80)
    im = ax.imshow(np.maximum(frac, 1e-4), norm=LogNorm(vmin=1e-3, vmax=1), cmap="viridis")
    ax.set_xticks(range(len(LABELS)), LABELS, fontsize=7)
    ax.set_yticks(range(len(LABELS)), LABELS, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def top_confusions(m: np.ndarray, k: int = 15) -> list[list]:
    """Return the ``k`` most frequent (true, predicted, count) mistakes."""
    off = m.copy()
    np.fill_diagonal(off, 0)
    flat = np.argsort(-off, axis=None)[:k]
    return [
        [LABELS[i // m.shape[0]], LABELS[i % m.shape[0]], int(off.flat[i])] for i in flat if off.flat[i] > 0
    ]


SET_NOTES = {
    "femnist_letters": "NIST SD19 (FEMNIST/LEAF) letters, test writers only",
    "femnist_digits": "NIST SD19 (FEMNIST/LEAF) digits, test writers only",
    "unipen_letters": "UNIPEN letters, test writers only, all samples (includes label noise)",
    "unipen_digits": "UNIPEN digits, test writers only, all samples (includes label noise)",
    "unipen_letters_clean": "UNIPEN letters, test writers, only samples with qc_p_label >= 0.1",
    "unipen_digits_clean": "UNIPEN digits, test writers, only samples with qc_p_label >= 0.1",
    "mnist_test": "MNIST official test set",
    "chars74k": "Chars74K EnglishHnd, whole set (never trained on)",
    "omniglot": "Omniglot Latin a-z, whole set (never trained on)",
    "comnist": "CoMNIST Latin upper case, whole set (never trained on)",
}


def case_accuracy(upper: np.ndarray, case: np.ndarray, y: np.ndarray) -> dict:
    """Score the case head: accuracy of ``upper >= 0.5`` on letters whose case is known.

    Returns ``{"accuracy", "n", "majority", "per_letter": {letter: [accuracy, n]}}``, where
    ``majority`` is what always answering the set's more frequent case would score (the head
    must beat it to know anything), and per-letter figures show where the shape tells the case.
    """
    known = (case >= 0) & (y >= 10)
    if not known.any():
        return {"accuracy": None, "n": 0, "majority": None, "per_letter": {}}
    right = (upper[known] >= 0.5) == (case[known] == 1)
    share_upper = float((case[known] == 1).mean())
    per = {}
    for c in np.unique(y[known]):
        m = y[known] == c
        per[LABELS[int(c)]] = [round(float(right[m].mean()), 4), int(m.sum())]
    return {
        "accuracy": round(float(right.mean()), 4),
        "n": int(known.sum()),
        "majority": round(max(share_upper, 1 - share_upper), 4),
        "per_letter": per,
    }


def measure_latency(clf, x: np.ndarray, repeat: int = 200) -> dict:
    """Time the runtime model: median single-crop and per-crop batch latency on this CPU."""
    import os
    import platform
    import time

    xf = x.astype(np.float32)[..., None] / 255.0
    clf.predict_proba(xf[:1])
    single = []
    for i in range(repeat):
        t = time.perf_counter()
        clf.predict_proba(xf[i % len(xf) : i % len(xf) + 1])
        single.append(time.perf_counter() - t)
    t = time.perf_counter()
    for _ in range(5):
        clf.predict_proba(xf)
    batch = (time.perf_counter() - t) / (5 * len(xf))
    onnx = clf.model_dir / "model.onnx"
    return {
        "single_crop_ms_median": round(float(np.median(single)) * 1e3, 3),
        "batch64_ms_per_crop": round(batch * 1e3, 3),
        "onnx_megabytes": round(onnx.stat().st_size / 1e6, 2),
        "cpu": f"{platform.machine()}, {os.cpu_count()} cores, onnxruntime intra_op_num_threads=2",
    }


def run_evaluation(
    data: str | None, model_dir: str, report_dir: str | None = None, *, update_card: bool = True
) -> dict:
    """Evaluate the exported ONNX model (through the app's CharClassifier) on every test set.

    Writes ``evaluation.json`` and ``confusion.png`` to ``report_dir`` (default: the model
    folder) and, unless told not to, copies the accuracies into ``model_card.json``.
    """
    from scanner_app.core.classifier import CharClassifier

    from .data import load_splits
    from .export import write_json

    clf = CharClassifier.load(Path(model_dir))
    splits = load_splits(data)
    probs = {k: clf.predict_proba(v.x) for k, v in splits.test.items()}
    labels = {k: v.y for k, v in splits.test.items()}
    table = accuracy_table(probs, labels)
    all_y = np.concatenate([labels[k] for k in table if not k.endswith("_clean")])
    all_p = np.concatenate([probs[k].argmax(1) for k in table if not k.endswith("_clean")])
    m = confusion(all_y, all_p)
    out = Path(report_dir or model_dir)
    out.mkdir(parents=True, exist_ok=True)
    plot_confusion(m, out / "confusion.png", "All test sets (test writers + measuring-only sets), top-1")
    report = {
        "model": str(model_dir),
        "onnx_sha256": clf.card.get("onnx_sha256"),
        "sets": {
            k: {
                "note": SET_NOTES.get(k, ""),
                "accuracy": round(v["accuracy"], 4),
                "accuracy_charset": round(v["accuracy_charset"], 4),
                "n": v["n"],
                "top3": round(
                    float(
                        np.mean([y in np.argsort(-p)[:3] for p, y in zip(probs[k], labels[k], strict=True)])
                    ),
                    4,
                ),
                "per_class": {c: round(a / n, 4) for c, (a, n) in v["per_class"].items()},
            }
            for k, v in table.items()
        },
        "top_confusions": top_confusions(m),
        "confusion_matrix": {"labels": list(LABELS), "rows_true_cols_pred": m.tolist()},
    }
    for k, v in report["sets"].items():
        print(
            f"{k:24s} {v['accuracy']:.4f}  in charset {v['accuracy_charset']:.4f}  top3 {v['top3']:.4f}  "
            f"(n={v['n']})"
        )
    print(
        "most frequent confusions (true -> predicted: count):",
        ", ".join(f"{a}->{b}: {c}" for a, b, c in report["top_confusions"][:10]),
    )
    if clf.has_case:
        report["case_head"] = {
            k: case_accuracy(clf.upper_proba(v.x), v.case, v.y)
            for k, v in splits.test.items()
            if ((v.case >= 0) & (v.y >= 10)).any()
        }
        for k, v in report["case_head"].items():
            print(
                f"case head {k:24s} {v['accuracy']:.4f}  "
                f"(always the usual case: {v['majority']:.4f}, n={v['n']})"
            )
    caveat = clf.card.get("emnist_note")  # trained with EMNIST letters: NIST writers may be seen
    if caveat:
        report["emnist_note"] = caveat
        print(f"note: {caveat}")
    report["runtime"] = measure_latency(clf, splits.test["chars74k"].x[:64])
    write_json(out / "evaluation.json", report)
    print(f"runtime: {report['runtime']}")
    if update_card:
        card_path = Path(model_dir) / "model_card.json"
        card = json.loads(card_path.read_text())
        card["runtime_measured"] = report["runtime"]
        card["test_accuracy"] = {k: v["accuracy"] for k, v in report["sets"].items()}
        card["test_accuracy_charset"] = {k: v["accuracy_charset"] for k, v in report["sets"].items()}
        if "case_head" in report:
            card["test_case_accuracy"] = {
                k: {"accuracy": v["accuracy"], "always_usual_case": v["majority"], "n": v["n"]}
                for k, v in report["case_head"].items()
            }
        card["test_accuracy_note"] = (
            "ONNX runtime model via scanner_app.core.classifier on crops framed by "
            "crops.py; held-out writers only; see evaluation.json"
        ) + (f" ({caveat})" if caveat else "")
        write_json(card_path, card)
    return report
