"""Model: a small VGG-style CNN for 28 x 28 character crops (about 1.43 M parameters at width 48).

conv W-W / pool / conv 2W-2W / pool / conv 4W-4W / pool / dense 256 (the embedding) / 36-way
softmax (W = ``width``, 48 by default; ``stage3_convs`` sets how many 4W convolutions run at
7 x 7, ``stage2_convs`` how many 2W ones at 14 x 14), with batch normalisation after every
convolution and dropout before the classifier.

Training may run under Keras mixed precision (bfloat16 compute on CPUs that have it); the softmax
always computes in float32, and :func:`float32_copy` turns a mixed-precision model into the plain
float32 model that is saved and exported.
"""

from __future__ import annotations

import keras
from keras import layers

from .data import NUM_CLASSES

EMBEDDING_LAYER = "embedding"
PROBS_LAYER = "probs"
CASE_LAYER = "upper"


def _conv(x, filters: int, name: str):
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def build_model(
    num_classes: int = NUM_CLASSES,
    width: int = 48,
    embedding: int = 256,
    dropout: float = 0.4,
    stage3_convs: int = 3,
    stage2_convs: int = 2,
    case_head: bool = False,
) -> keras.Model:
    """Build the classifier: input ``image`` (N, 28, 28, 1) float 0..1, output ``probs`` (N, C).

    With ``case_head`` the model has two named outputs, ``{"probs": (N, C), "upper": (N, 1)}``:
    ``upper`` is the probability that a letter is upper case (the 36 classes merge the cases;
    it reads the shape only, since framing removes the size).
    """
    inputs = keras.Input((28, 28, 1), name="image")
    x = _conv(inputs, width, "b1a")
    x = _conv(x, width, "b1b")
    x = layers.MaxPooling2D(name="pool1")(x)  # 14 x 14
    for i in range(stage2_convs):
        x = _conv(x, 2 * width, f"b2{'abcdefgh'[i]}")
    x = layers.MaxPooling2D(name="pool2")(x)  # 7 x 7
    for i in range(stage3_convs):
        x = _conv(x, 4 * width, f"b3{'abcdefgh'[i]}")
    x = layers.MaxPooling2D(name="pool3")(x)  # 3 x 3
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(dropout / 2, name="drop1")(x)
    x = layers.Dense(embedding, use_bias=False, name="embed_dense")(x)
    x = layers.BatchNormalization(name="embed_bn")(x)
    emb = layers.Activation("relu", name=EMBEDDING_LAYER)(x)
    x = layers.Dropout(dropout, name="drop2")(emb)
    probs = layers.Dense(num_classes, activation="softmax", name=PROBS_LAYER, dtype="float32")(x)
    if not case_head:
        return keras.Model(inputs, probs, name="char_cnn")
    upper = layers.Dense(1, activation="sigmoid", name=CASE_LAYER, dtype="float32")(x)
    return keras.Model(inputs, {PROBS_LAYER: probs, CASE_LAYER: upper}, name="char_cnn")


def has_case_head(model: keras.Model) -> bool:
    """Return whether ``model`` has the ``upper`` (letter case) output."""
    return any(layer.name == CASE_LAYER for layer in model.layers)


@keras.saving.register_keras_serializable(package="handwriting_scanner")
def masked_case_loss(y_true, y_pred):
    """Binary cross-entropy of the case head on letters of known case (``y_true`` 1 or 0).

    Digits and letters of unknown case carry ``y_true = -1`` and add nothing.
    """
    known = keras.ops.cast(y_true >= 0, "float32")
    bce = keras.losses.binary_crossentropy(keras.ops.maximum(y_true, 0.0), y_pred)
    return bce * keras.ops.squeeze(known, -1)


def predict_probs(model: keras.Model, x, batch_size: int = 1024):
    """Return the class probabilities of ``model`` on ``x`` (with or without a case head)."""
    out = model.predict(x, batch_size=batch_size, verbose=0)
    return out[PROBS_LAYER] if isinstance(out, dict) else out


def _convs_in(model: keras.Model, block: str) -> int:
    """Count the convolutions in a block ("b2", "b3") of a model made by :func:`build_model`."""
    return sum(1 for la in model.layers if la.name.startswith(block) and la.name.endswith("_conv"))


def float32_copy(model: keras.Model) -> keras.Model:
    """Return ``model`` itself if it computes in float32, else a float32 twin with the same weights.

    Mixed-precision layers keep float32 variables, so the weights carry over exactly; the twin is
    what gets evaluated, saved as ``model.keras`` and converted to ONNX.
    """
    if all(layer.dtype_policy.compute_dtype == "float32" for layer in model.layers):
        return model
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        twin = build_model(
            num_classes=model.get_layer(PROBS_LAYER).units,
            width=model.get_layer("b1a_conv").filters,
            embedding=model.get_layer("embed_dense").units,
            dropout=model.get_layer("drop2").rate,
            stage3_convs=_convs_in(model, "b3"),
            stage2_convs=_convs_in(model, "b2"),
            case_head=has_case_head(model),
        )
    finally:
        keras.mixed_precision.set_global_policy(previous)
    twin.set_weights(model.get_weights())
    return twin


def inference_model(model: keras.Model) -> keras.Model:
    """Return the export model: ``[probs, embedding]``, plus ``upper`` with a case head.

    It shares ``model``'s weights.
    """
    outputs = [model.get_layer(PROBS_LAYER).output, model.get_layer(EMBEDDING_LAYER).output]
    if has_case_head(model):
        outputs.append(model.get_layer(CASE_LAYER).output)
    return keras.Model(model.input, outputs, name="char_cnn_export")
