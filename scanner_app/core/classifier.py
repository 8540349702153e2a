"""The character classifier: runs the bundled ONNX model on 28 x 28 crops.

The model travels with its metadata (``assets/model/``): ``model.onnx``, ``labels.json`` and
``model_card.json``. :meth:`CharClassifier.load` checks them against each other (class count,
labels, input shape, the ONNX file's sha256) and raises :class:`ModelError` naming the file
at fault, so a damaged install fails loudly at start-up instead of guessing wrong letters.

Crops must be framed by :mod:`scanner_app.core.crops` (float32 0..1, ink high), as in training.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .. import paths
from .errors import ModelError
from .types import CROP_SIZE, CharPrediction, CropBatch

ONNX_FILE = "model.onnx"
LABELS_FILE = "labels.json"
CARD_FILE = "model_card.json"
CHARSETS = ("alnum", "letters", "digits")
INPUT_SHAPE = [None, CROP_SIZE, CROP_SIZE, 1]
BATCH = 256  # crops per onnxruntime call: bounded memory on big pages


@runtime_checkable
class Classifier(Protocol):
    """What the pipeline and GUI need from a classifier (tests inject faults through this)."""

    labels: tuple[str, ...]

    def predict_proba(self, crops: np.ndarray | CropBatch) -> np.ndarray:
        """Return (N, C) class probabilities."""
        ...

    def top_k(self, probs: np.ndarray, k: int = 3, charset: str = "alnum") -> list[list[tuple[str, float]]]:
        """Return the k best (label, probability) pairs per row, restricted to ``charset``."""
        ...

    def classify(self, batch: CropBatch, k: int = 3, charset: str = "alnum") -> list[CharPrediction]:
        """Return one prediction per crop."""
        ...


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise ModelError(f"The character model is incomplete: {path} is missing. Reinstall the app.")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelError(f"The character model file {path} is damaged ({err}). Reinstall the app.") from err


def sha256_file(path: Path) -> str:
    """Return the hex sha256 of a file (read in 1 MiB chunks)."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def charset_indices(labels: tuple[str, ...], charset: str) -> np.ndarray:
    """Return the indices of ``labels`` that belong to ``charset`` ("alnum", "letters" or "digits")."""
    if charset == "alnum":
        keep = [i for i, c in enumerate(labels) if c.isalnum()]
    elif charset == "letters":
        keep = [i for i, c in enumerate(labels) if c.isalpha()]
    elif charset == "digits":
        keep = [i for i, c in enumerate(labels) if c.isdigit()]
    else:
        raise ValueError(f"charset must be one of {CHARSETS}, got {charset!r}")
    return np.asarray(keep, np.int64)


class CharClassifier:
    """The bundled character model behind a small interface (see :class:`Classifier`)."""

    def __init__(self, session: Any, labels: tuple[str, ...], card: dict, model_dir: Path) -> None:
        self._session = session
        self.labels: tuple[str, ...] = labels
        self.card: dict = card
        self.model_dir = model_dir
        self._input = session.get_inputs()[0].name
        self._outputs = {o.name for o in session.get_outputs()}

    @classmethod
    def load(cls, model_dir: Path | None = None) -> CharClassifier:
        """Load and check the model in ``model_dir`` (default: the bundled ``assets/model``).

        Raises :class:`ModelError`, naming the file at fault, when a file is missing or damaged
        or when the files disagree with each other.
        """
        folder = Path(model_dir) if model_dir is not None else paths.model_dir()
        if not folder.is_dir():
            raise ModelError(f"The character model folder {folder} is missing. Reinstall the app.")
        card_path, labels_path, onnx_path = folder / CARD_FILE, folder / LABELS_FILE, folder / ONNX_FILE
        card = _read_json(card_path)
        labels_raw = _read_json(labels_path)
        if not isinstance(card, dict):
            raise ModelError(f"The model card {card_path} is damaged: expected a JSON object.")
        if not isinstance(labels_raw, list) or not all(
            isinstance(c, str) and len(c) == 1 for c in labels_raw
        ):
            raise ModelError(f"The label file {labels_path} is damaged: expected a list of characters.")
        labels = tuple(labels_raw)
        n = card.get("num_classes")
        if n != len(card.get("classes", [])):
            raise ModelError(
                f"The model card {card_path} is inconsistent: num_classes={n} but it lists "
                f"{len(card.get('classes', []))} classes."
            )
        if list(card["classes"]) != list(labels):
            raise ModelError(f"The label file {labels_path} disagrees with the model card {card_path}.")
        shape = card.get("input", {}).get("shape")
        if shape != INPUT_SHAPE:
            raise ModelError(
                f"The model card {card_path} gives input shape {shape}; this app needs {INPUT_SHAPE}."
            )
        if not onnx_path.is_file():
            raise ModelError(f"The character model is incomplete: {onnx_path} is missing. Reinstall the app.")
        if sha256_file(onnx_path) != card.get("onnx_sha256"):
            raise ModelError(
                f"The model file {onnx_path} does not match its model card (sha256 differs): "
                "it is damaged or from another version. Reinstall the app."
            )
        import onnxruntime as ort  # only when a model is really loaded

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 2  # small crops: more threads only add overhead
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        try:
            session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own error types for corrupt files
            raise ModelError(f"The model file {onnx_path} could not be loaded ({err}).") from err
        outputs = {o.name: o.shape for o in session.get_outputs()}
        if "probs" not in outputs or "embedding" not in outputs:
            raise ModelError(f"The model file {onnx_path} lacks the outputs 'probs' and 'embedding'.")
        if outputs["probs"][-1] != len(labels):
            raise ModelError(
                f"The model file {onnx_path} has {outputs['probs'][-1]} classes "
                f"but {labels_path} lists {len(labels)}."
            )
        in_shape = list(session.get_inputs()[0].shape)
        if in_shape[1:] != INPUT_SHAPE[1:]:
            raise ModelError(f"The model file {onnx_path} expects input shape {in_shape}, not {INPUT_SHAPE}.")
        return cls(session, labels, card, folder)

    # -- inference --------------------------------------------------------------------------

    @staticmethod
    def _as_input(crops: np.ndarray | CropBatch) -> np.ndarray:
        x = crops.crops if isinstance(crops, CropBatch) else np.asarray(crops)
        if x.ndim == 3:
            x = x[..., None]
        if x.ndim != 4 or x.shape[1:] != (CROP_SIZE, CROP_SIZE, 1):
            raise ValueError(f"crops must be (N, 28, 28) or (N, 28, 28, 1), got {x.shape}")
        if x.dtype == np.uint8:
            return x.astype(np.float32) / 255.0
        return np.ascontiguousarray(x, dtype=np.float32)

    def _run(self, crops: np.ndarray | CropBatch, *outputs: str) -> list[np.ndarray]:
        """Run the model in batches of ``BATCH`` crops; return the named outputs as float32."""
        x = self._as_input(crops)
        if len(x) == 0:
            dims = {"probs": len(self.labels), "upper": 1}
            emb = int(self.card["outputs"]["embedding"][-1])
            return [np.zeros((0, dims.get(o, emb)), np.float32) for o in outputs]
        parts = [
            self._session.run(list(outputs), {self._input: x[i : i + BATCH]}) for i in range(0, len(x), BATCH)
        ]
        return [
            np.concatenate([p[k] for p in parts]).astype(np.float32, copy=False) for k in range(len(outputs))
        ]

    @property
    def has_case(self) -> bool:
        """Whether the model has the case head (output ``upper``: P(upper case) of a letter)."""
        return "upper" in self._outputs

    def upper_proba(self, crops: np.ndarray | CropBatch) -> np.ndarray:
        """Return (N,) probabilities that each crop, read as a letter, is upper case.

        The case head sees the shape only (framing removes the size), so it knows 'a' from 'A'
        but not 'o' from 'O'. Raises ``ModelError`` for a model without the head.
        """
        if not self.has_case:
            raise ModelError(f"The model in {self.model_dir} has no case output ('upper').")
        return self._run(crops, "upper")[0].reshape(-1)

    def predict_with_case(self, crops: np.ndarray | CropBatch) -> tuple[np.ndarray, np.ndarray | None]:
        """Return ``(probs (N, 36), upper (N,) or None)`` from one pass over the crops."""
        if not self.has_case:
            return self.predict_proba(crops), None
        probs, upper = self._run(crops, "probs", "upper")
        return probs, upper.reshape(-1)

    def predict_proba(self, crops: np.ndarray | CropBatch) -> np.ndarray:
        """Return (N, 36) probabilities for (N, 28, 28[, 1]) float32 0..1 crops (uint8 0..255 accepted)."""
        return self._run(crops, "probs")[0]

    def embed(self, crops: np.ndarray | CropBatch) -> np.ndarray:
        """Return the (N, D) penultimate-layer embedding of the crops."""
        return self._run(crops, "embedding")[0]

    def top_k(self, probs: np.ndarray, k: int = 3, charset: str = "alnum") -> list[list[tuple[str, float]]]:
        """Return, per row, the ``k`` most likely labels within ``charset``, best first.

        Probabilities are restricted to the charset and renormalised to sum to 1 over it.
        """
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        idx = charset_indices(self.labels, charset)
        p = np.asarray(probs, np.float64)
        if p.ndim != 2 or p.shape[1] != len(self.labels):
            raise ValueError(f"probs must be (N, {len(self.labels)}), got {p.shape}")
        sub = p[:, idx]
        total = sub.sum(axis=1, keepdims=True)
        sub = np.where(total > 0, sub / np.where(total > 0, total, 1.0), 1.0 / len(idx))
        k = min(k, len(idx))
        order = np.argsort(-sub, axis=1, kind="stable")[:, :k]
        return [[(self.labels[idx[j]], float(row[j])) for j in o] for row, o in zip(sub, order, strict=True)]

    def classify(self, batch: CropBatch, k: int = 3, charset: str = "alnum") -> list[CharPrediction]:
        """Classify every crop of ``batch``; each prediction carries its top-k and the crop's box."""
        alts = self.top_k(self.predict_proba(batch), k=k, charset=charset)
        out = []
        for i, a in enumerate(alts):
            box = batch.boxes[i] if batch.boxes else None
            out.append(
                CharPrediction(char=a[0][0], confidence=min(1.0, a[0][1]), alternatives=tuple(a), box=box)
            )
        return out
