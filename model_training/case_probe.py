"""Case probe: a small head that reads a letter's case from the trained model's embedding.

The 36 classes merge upper and lower case, so the page reader sets case from the glyph's height.
Height cannot tell H from h or B from b (both tall), but their shapes differ, and the embedding
(the penultimate layer) still holds the shape. The probe (dense 64 + ReLU, dense 1 + sigmoid,
output ``upper`` = P(upper case)) is fitted on that embedding with the rest of the model frozen,
so the class probabilities stay exactly those of the trained model:

* data: letters of known case from the TRAINING writers of NIST (FEMNIST) and UNIPEN (the
  EMNIST ByClass labels keep the case), framed by crops.py;
* early stopping on the VALIDATION writers' letters; test writers are never used.

Training the case jointly with the classes (``--case-weight``) reads the case a little better
but cost letter accuracy on the validation writers (see README "The model"), hence the probe.

``python -m model_training case-probe --model assets/model`` adds it to an exported model (and
re-exports it); ``train`` fits it after training unless ``--no-case-probe``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from . import data as D

HIDDEN = 64


def letters_with_case(sets: list[D.Samples]) -> tuple[np.ndarray, np.ndarray]:
    """Return the framed letters of known case from ``sets`` as ``(x uint8, upper 0/1 float32)``."""
    xs, cs = [], []
    for s in sets:
        m = (s.case >= 0) & (s.y >= 10)
        xs.append(s.x[m])
        cs.append(s.case[m])
    return np.concatenate(xs), np.concatenate(cs).astype(np.float32)


def fit_case_probe(
    model, train: list[D.Samples], val: list[D.Samples], *, seed: int = 42, epochs: int = 30, verbose: int = 0
):
    """Return ``model`` with the case probe attached (outputs ``{"probs", "upper"}``) and its facts.

    ``model`` is a classifier made by :func:`model_training.model.build_model` (without a case
    head); its layers are not changed.
    """
    import keras
    from keras import layers

    from .model import CASE_LAYER, EMBEDDING_LAYER, PROBS_LAYER, float32_copy, has_case_head

    if has_case_head(model):
        raise ValueError("the model already has a case output")
    t0 = time.time()
    keras.utils.set_random_seed(seed)
    model = float32_copy(model)
    emb_model = keras.Model(model.input, model.get_layer(EMBEDDING_LAYER).output)

    def embed(x: np.ndarray) -> np.ndarray:
        return emb_model.predict(x.astype(np.float32)[..., None] / 255.0, batch_size=1024, verbose=0)

    x_tr, c_tr = letters_with_case(train)
    x_va, c_va = letters_with_case(val)
    e_tr, e_va = embed(x_tr), embed(x_va)
    hidden = layers.Dense(HIDDEN, activation="relu", name=f"{CASE_LAYER}_hidden")
    out = layers.Dense(1, activation="sigmoid", name=CASE_LAYER)
    inp = keras.Input((e_tr.shape[1],))
    head = keras.Model(inp, out(hidden(inp)))
    head.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="binary_crossentropy",
        metrics=[keras.metrics.BinaryAccuracy(name="acc")],
    )
    history = head.fit(
        e_tr,
        c_tr,
        validation_data=(e_va, c_va),
        epochs=epochs,
        batch_size=256,
        shuffle=True,
        verbose=verbose,
        callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)],
    )
    # Fresh layers with the fitted weights, so each layer has one call (its ``output`` is unique).
    hidden2 = layers.Dense(HIDDEN, activation="relu", name=hidden.name)
    out2 = layers.Dense(1, activation="sigmoid", name=CASE_LAYER)
    upper = out2(hidden2(model.get_layer(EMBEDDING_LAYER).output))
    hidden2.set_weights(hidden.get_weights())
    out2.set_weights(out.get_weights())
    joined = keras.Model(model.input, {PROBS_LAYER: model.get_layer(PROBS_LAYER).output, CASE_LAYER: upper})
    val_acc = float(((head.predict(e_va, verbose=0)[:, 0] >= 0.5) == (c_va == 1)).mean())
    share = float(c_va.mean())
    facts = {
        "what": "output 'upper' = P(upper case) of a letter, read from its shape (the crop has no size)",
        "how": f"dense {HIDDEN} ReLU + dense 1 sigmoid on the frozen 'embedding', fitted on training "
        "writers' letters of known case (NIST ByClass and UNIPEN labels), early stopping on "
        "validation writers",
        "train_letters": int(len(c_tr)),
        "val_letters": int(len(c_va)),
        "epochs_run": len(history.history["loss"]),
        "val_accuracy": round(val_acc, 4),
        "val_always_usual_case": round(max(share, 1 - share), 4),
        "seconds": round(time.time() - t0, 1),
    }
    return joined, facts


def add_case_probe(model_dir: str | Path, data: str | None = None, seed: int = 42) -> dict:
    """Fit the case probe on the model in ``model_dir`` and re-export it there; return the card."""
    import json

    import keras

    from .export import export

    model_dir = Path(model_dir)
    card = json.loads((model_dir / "model_card.json").read_text())
    model = keras.saving.load_model(model_dir / "model.keras", compile=False)
    splits = D.load_splits(data, drop_unipen_flagged=False)
    joined, facts = fit_case_probe(model, splits.train, splits.val, seed=seed)
    # The export recomputes the file facts (outputs, size, sha256, date); the rest of the card stays.
    card["case_probe"] = {"command": f"python -m model_training case-probe --model {model_dir}"} | facts
    return export(joined, model_dir, card)
