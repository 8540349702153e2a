"""Export: write the runtime model and its metadata to ``assets/model/``.

Files written:

* ``model.keras``: the full Keras model, to retrain or fine-tune.
* ``model.onnx``: the runtime model (tf2onnx, opset 17). Input ``image`` (N, 28, 28, 1) float32 0..1;
  outputs ``probs`` (N, 36) and ``embedding`` (N, D), the penultimate layer, and, for a model with a
  case head, ``upper`` (N, 1), the probability that a letter is upper case. The large weight tensors
  are stored as float16 and cast to float32 inside the graph (onnxruntime folds the casts when it
  loads the model), so the file is half the size and the model computes in float32 as trained.
* ``labels.json``: the 36 labels in output order.
* ``model_card.json``: classes, input shape, framing, data sets, accuracy, size, timings, command.

ONNX was chosen as the runtime format because onnxruntime ships wheels for Windows, macOS and
Linux (ai-edge-litert has no Windows wheels), and the app never needs TensorFlow.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import keras
import numpy as np

from .data import LABELS, sha256_file
from .model import float32_copy, has_case_head, inference_model

OPSET = 17
FRAMING = (
    "scanner_app.core.crops.frame_glyph(normalise_stroke=True): ink high, crop to the ink bounding box "
    "(> 0.2 of max), redraw at 64 px with stroke width 8.5% of the glyph size, centre in a square keeping "
    "the aspect ratio, pad 2%, resample to 28x28 (area when shrinking), scale so the maximum is 1.0"
)


def store_weights_float16(proto, min_size: int = 1024) -> None:
    """Store every float32 initializer of at least ``min_size`` values as float16 plus a Cast node.

    The graph still computes in float32 (onnxruntime constant-folds the casts at load time, so
    inference speed is unchanged); only the stored weights lose precision, about 1e-4 on the
    output probabilities.
    """
    from onnx import TensorProto, helper, numpy_helper

    graph = proto.graph
    big = [t for t in graph.initializer if t.data_type == TensorProto.FLOAT and np.prod(t.dims) >= min_size]
    casts = []
    for t in big:
        half = numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float16), f"{t.name}_fp16")
        graph.initializer.remove(t)
        graph.initializer.append(half)
        casts.append(
            helper.make_node("Cast", [half.name], [t.name], to=TensorProto.FLOAT, name=f"{t.name}_cast")
        )
    for node in reversed(casts):
        graph.node.insert(0, node)


def export_onnx(model: keras.Model, path: Path) -> None:
    """Convert ``model`` to ONNX, its large weights stored as float16.

    The outputs are named ``probs`` and ``embedding``, plus ``upper`` for a case head.
    """
    import onnx
    import tensorflow as tf
    import tf2onnx

    two = inference_model(model)
    names_out = ["probs", "embedding"] + (["upper"] if has_case_head(model) else [])
    # tf2onnx traces a tf.function; wrap so the outputs carry our names.
    spec = (tf.TensorSpec((None, 28, 28, 1), tf.float32, name="image"),)

    @tf.function(input_signature=spec)
    def serve(image):
        outs = two(image, training=False)
        return {n: tf.identity(t, name=n) for n, t in zip(names_out, outs, strict=True)}

    proto, _ = tf2onnx.convert.from_function(serve, input_signature=spec, opset=OPSET)
    store_weights_float16(proto)
    onnx.checker.check_model(proto)
    names = [o.name for o in proto.graph.output]
    if sorted(names) != sorted(names_out):
        raise RuntimeError(f"unexpected ONNX output names {names}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(proto.SerializeToString())
    tmp.replace(path)


def write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    tmp.replace(path)


def export(model: keras.Model, out_dir: Path, card: dict[str, Any]) -> dict[str, Any]:
    """Write model.keras, model.onnx, labels.json and model_card.json to ``out_dir``; return the card.

    ``card`` holds what only training knows (data sets, command, training time, accuracy);
    this function adds the file facts (shapes, sizes, sha256, parameter count, date).
    """
    model = float32_copy(model)  # a mixed-precision checkpoint is saved and converted as float32
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(out_dir / "model.keras")
    onnx_path = out_dir / "model.onnx"
    export_onnx(model, onnx_path)
    write_json(out_dir / "labels.json", list(LABELS))
    emb_dim = int(model.get_layer("embedding").output.shape[-1])
    full = {
        "name": "handwriting-scanner character CNN",
        "format": "onnx",
        "runtime": "onnxruntime (chosen over TFLite/LiteRT: onnxruntime has Windows, macOS and Linux wheels)",
        "onnx_opset": OPSET,
        "onnx_weights": "float16 storage, cast to float32 in the graph (computes in float32)",
        "classes": list(LABELS),
        "num_classes": len(LABELS),
        "class_note": "digits 0-9, then letters A-Z with upper and lower case merged",
        "input": {
            "name": "image",
            "shape": [None, 28, 28, 1],
            "dtype": "float32",
            "range": [0.0, 1.0],
            "ink": "high (1.0 = ink, 0.0 = background)",
        },
        "outputs": {"probs": [None, len(LABELS)], "embedding": [None, emb_dim]}
        | ({"upper": [None, 1]} if has_case_head(model) else {}),
        "framing": FRAMING,
        "parameters": int(model.count_params()),
        "onnx_file": "model.onnx",
        "onnx_sha256": sha256_file(onnx_path),
        "onnx_bytes": onnx_path.stat().st_size,
        "keras_file": "model.keras",
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    # The facts measured from the files just written win over any stale copy in ``card``.
    full |= {k: v for k, v in card.items() if k not in full}
    write_json(out_dir / "model_card.json", full)
    return full


def smoke_check(out_dir: Path, x: np.ndarray) -> np.ndarray:
    """Run the exported ONNX model on ``x`` and return its probabilities (a quick sanity check)."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(out_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    return sess.run(["probs"], {"image": x.astype(np.float32)})[0]
