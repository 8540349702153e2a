"""Training smoke run and runtime/Keras agreement. Needs TensorFlow (the [train] extra)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytestmark = [
    pytest.mark.training,
    # TensorFlow 2.21's variables predate numpy 2's __array__(copy=...) protocol (third-party, harmless).
    pytest.mark.filterwarnings(
        "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
    ),
]

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from model_training.model import masked_case_loss, predict_probs  # noqa: E402
from model_training.train import TrainConfig, export_checkpoint, run  # noqa: E402
from scanner_app.core.classifier import CharClassifier  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent.parent
MINI = ROOT / "tests" / "data" / "train_mini"
CROPS = ROOT / "tests" / "data" / "sample_crops.npz"


@pytest.mark.slow
def test_smoke_training_exports_a_loadable_model(tmp_path):
    out = tmp_path / "model"
    cfg = TrainConfig(
        data=str(MINI),
        out=str(out),
        run_dir=str(tmp_path / "run"),
        epochs=2,
        batch_size=32,
        max_steps_per_epoch=3,
        augment_copies=1,
        rerender_widths=(0.05,),
        rerender_style=1.0,
        fonts_per_char=0,
        cache_dir=None,
        verbose=0,
        precision="mixed_bfloat16",  # the mixed-precision path, exported as float32
    )
    card = run(cfg, ["train", "--smoke"])
    # the restyled UNIPEN re-render joined the training set, and the card says so
    assert card["training"]["samples"]["unipen_rerender_w0.05-style1.0"] > 0
    assert card["training"]["config"]["rerender_style"] == 1.0
    for name in ("model.keras", "model.onnx", "labels.json", "model_card.json"):
        assert (out / name).is_file(), name
    assert card["training"]["epochs_run"] == 2
    assert card["num_classes"] == 36 and card["input"]["shape"] == [None, 28, 28, 1]
    assert set(card["test_accuracy"]) >= {"femnist_letters", "mnist_test", "chars74k"}
    assert (tmp_path / "run" / "tensorboard").is_dir()
    assert card["training"]["compute_precision"] == "mixed_bfloat16"
    clf = CharClassifier.load(out)
    x = np.load(CROPS)["x"][:8]
    p = clf.predict_proba(x.astype(np.float32) / 255.0)
    assert p.shape == (8, 36)
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-4)
    # the saved Keras model is the float32 twin of the bfloat16-trained one, and ONNX agrees with it
    saved = keras.saving.load_model(out / "model.keras", compile=False)
    assert {layer.dtype_policy.compute_dtype for layer in saved.layers} == {"float32"}
    out_keras = saved.predict(x.astype(np.float32)[..., None] / 255.0, verbose=0)
    p_keras = out_keras["probs"]
    np.testing.assert_array_equal(p_keras.argmax(1), p.argmax(1))
    np.testing.assert_allclose(p_keras, p, atol=1e-3)
    # the case head (on by default) is exported as the output "upper" and agrees with Keras too
    assert card["outputs"]["upper"] == [None, 1]
    up = clf.upper_proba(x)
    assert up.shape == (8,) and ((up >= 0) & (up <= 1)).all()
    np.testing.assert_allclose(out_keras["upper"][:, 0], up, atol=1e-3)
    # the ONNX file stores its weight tensors at half precision and casts them to float32
    import onnx

    proto = onnx.load(out / "model.onnx")
    half = [t for t in proto.graph.initializer if t.data_type == onnx.TensorProto.FLOAT16]
    assert len(half) >= 7  # every convolution and both dense layers
    assert sum(int(np.prod(t.dims)) for t in half) > 0.95 * card["parameters"]
    assert card["onnx_bytes"] < 2.2 * card["parameters"]
    assert clf.embed(x).shape == (8, card["outputs"]["embedding"][1])
    # an interrupted run can still be shipped from its best checkpoint
    card2 = export_checkpoint(
        str(tmp_path / "run" / "best.keras"), str(tmp_path / "run"), str(tmp_path / "m2")
    )
    assert card2["training"]["epochs_run"] == 2
    assert CharClassifier.load(tmp_path / "m2").predict_proba(x).shape == (8, 36)


def test_committed_onnx_agrees_with_committed_keras_model():
    model_dir = ROOT / "assets" / "model"
    card = json.loads((model_dir / "model_card.json").read_text())
    model = keras.saving.load_model(model_dir / "model.keras", compile=False)
    x = np.load(CROPS)["x"].astype(np.float32)[..., None] / 255.0
    p_keras = predict_probs(model, x, batch_size=128)
    clf = CharClassifier.load(model_dir)
    p_onnx = clf.predict_proba(x)
    assert card["onnx_sha256"] == clf.card["onnx_sha256"]
    np.testing.assert_array_equal(p_keras.argmax(1), p_onnx.argmax(1))
    np.testing.assert_allclose(p_keras, p_onnx, atol=1e-3)


def test_case_loss_counts_only_letters_of_known_case():
    y_true = np.array([[1.0], [0.0], [-1.0], [-1.0]], np.float32)
    y_pred = np.array([[0.9], [0.2], [0.99], [0.01]], np.float32)
    loss = np.asarray(masked_case_loss(y_true, y_pred))
    np.testing.assert_allclose(loss[:2], [-np.log(0.9), -np.log(0.8)], rtol=1e-4)
    assert loss[2] == 0 and loss[3] == 0  # digits / unknown case, whatever the prediction


def _tiny_config(run_dir: Path, **overrides) -> TrainConfig:
    """One epoch of a few steps on the mini data, no augmented copies, no export."""
    cfg = dict(
        data=str(MINI),
        out=str(run_dir / "model"),
        run_dir=str(run_dir),
        epochs=1,
        batch_size=32,
        augment_copies=0,
        rerender_widths=(),
        fonts_per_char=0,
        cache_dir=None,
        verbose=0,
        export=False,
    )
    return TrainConfig(**(cfg | overrides))


@pytest.mark.slow
def test_training_with_emnist_letters_records_them_and_the_writer_caveat(tmp_path):
    from tests.idx import write_idx

    letters = np.load(CROPS)
    keep = letters["y"] >= 10
    x, y = letters["x"][keep][:40], letters["y"][keep][:40] - 9  # EMNIST labels 1..26
    write_idx(tmp_path / "emnist-letters-train-images-idx3-ubyte.gz", x.transpose(0, 2, 1))
    write_idx(tmp_path / "emnist-letters-train-labels-idx1-ubyte.gz", y)
    run(_tiny_config(tmp_path / "run", max_steps_per_epoch=2, emnist=str(tmp_path)), ["train"])
    card = json.loads((tmp_path / "run" / "card_partial.json").read_text())
    assert card["training"]["samples"]["emnist_letters_train"] == len(y)
    assert card["training"]["config"]["emnist"] == str(tmp_path)
    assert "femnist" in card["emnist_note"] and "unseen" in card["emnist_note"]
    assert card["data_sets"]["emnist_letters"]["file"] == str(tmp_path)


@pytest.mark.slow
def test_ema_weights_are_what_the_checkpoint_holds(tmp_path):
    run(_tiny_config(tmp_path / "run", max_steps_per_epoch=3, ema_momentum=0.5), ["train"])
    model = keras.saving.load_model(tmp_path / "run" / "best.keras")
    opt = model.optimizer
    assert opt.use_ema and opt.ema_overwrite_frequency == 3
    # after the last step the moving average (0.5 old + 0.5 new) differs from the raw weights
    # unless it was written into the model at the epoch's end, as it must be
    averages = opt._model_variables_moving_average
    assert len(averages) == len(model.trainable_weights)
    for w, a in zip(model.trainable_weights, averages, strict=True):
        np.testing.assert_array_equal(np.asarray(w), np.asarray(a))


@pytest.mark.slow
def test_training_is_deterministic_for_a_seed(tmp_path):
    def train(name: str) -> list[np.ndarray]:
        run(_tiny_config(tmp_path / f"run_{name}", max_steps_per_epoch=4), ["train"])
        return keras.saving.load_model(tmp_path / f"run_{name}" / "best.keras").get_weights()

    for a, b in zip(train("a"), train("b"), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_case_probe_adds_the_upper_output_and_keeps_the_class_probabilities(tmp_path):
    from model_training.case_probe import add_case_probe

    out = tmp_path / "run" / "model"
    run(_tiny_config(tmp_path / "run", max_steps_per_epoch=3, export=True, case_probe=False), ["train"])
    before = CharClassifier.load(out)
    assert not before.has_case
    with pytest.raises(Exception, match="no case output"):
        before.upper_proba(np.zeros((1, 28, 28), np.float32))
    x = np.load(CROPS)["x"][:16]
    p_before = before.predict_proba(x)
    card = add_case_probe(out, str(MINI))
    after = CharClassifier.load(out)
    assert after.has_case and card["outputs"]["upper"] == [None, 1]
    assert card["case_probe"]["train_letters"] > 0 and card["case_probe"]["val_letters"] > 0
    assert card["training"]["command"] == "python -m model_training train"  # the training facts stay
    np.testing.assert_allclose(after.predict_proba(x), p_before, atol=1e-6)
    up = after.upper_proba(x)
    assert up.shape == (16,) and ((up >= 0) & (up <= 1)).all()


def test_train_command_names_a_missing_emnist_folder_without_a_traceback(tmp_path, capsys):
    from model_training.__main__ import main

    rc = main(["train", "--emnist", str(tmp_path / "nowhere"), "--run-dir", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("error: EMNIST folder") and "nowhere" in err and "Traceback" not in err
