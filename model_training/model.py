"""Model: a small VGG-style CNN for 28 x 28 character crops (about 0.77 M parameters at width 48).

conv W-W / pool / conv 2W-2W / pool / conv 4W / pool / dense 256 (the embedding) / 36-way softmax
(W = ``width``, 48 by default), with batch normalisation after every convolution and dropout
before the classifier.
"""

from __future__ import annotations

import keras
from keras import layers

from .data import NUM_CLASSES

EMBEDDING_LAYER = "embedding"
PROBS_LAYER = "probs"


def _conv(x, filters: int, name: str):
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def build_model(
    num_classes: int = NUM_CLASSES, width: int = 32, embedding: int = 256, dropout: float = 0.4
) -> keras.Model:
    """Build the classifier: input ``image`` (N, 28, 28, 1) float 0..1, output ``probs`` (N, C)."""
    inputs = keras.Input((28, 28, 1), name="image")
    x = _conv(inputs, width, "b1a")
    x = _conv(x, width, "b1b")
    x = layers.MaxPooling2D(name="pool1")(x)  # 14 x 14
    x = _conv(x, 2 * width, "b2a")
    x = _conv(x, 2 * width, "b2b")
    x = layers.MaxPooling2D(name="pool2")(x)  # 7 x 7
    x = _conv(x, 4 * width, "b3a")
    x = layers.MaxPooling2D(name="pool3")(x)  # 3 x 3
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(dropout / 2, name="drop1")(x)
    x = layers.Dense(embedding, use_bias=False, name="embed_dense")(x)
    x = layers.BatchNormalization(name="embed_bn")(x)
    emb = layers.Activation("relu", name=EMBEDDING_LAYER)(x)
    x = layers.Dropout(dropout, name="drop2")(emb)
    probs = layers.Dense(num_classes, activation="softmax", name=PROBS_LAYER)(x)
    return keras.Model(inputs, probs, name="char_cnn")


def inference_model(model: keras.Model) -> keras.Model:
    """Return a two-output model ``[probs, embedding]`` sharing ``model``'s weights (for export)."""
    return keras.Model(
        model.input,
        [model.get_layer(PROBS_LAYER).output, model.get_layer(EMBEDDING_LAYER).output],
        name="char_cnn_export",
    )
