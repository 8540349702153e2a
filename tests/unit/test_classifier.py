"""The real bundled character model on committed real crops, and its load-time checks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from scanner_app.core.classifier import CharClassifier, Classifier, charset_indices
from scanner_app.core.errors import ModelError
from scanner_app.core.types import Box, CropBatch
from scanner_app.paths import model_dir

# Measured for the committed model on these crops: 95.6 % (36-way), 97.8 % (in charset). The floors leave room
# for retraining noise but fails on a broken model, wrong framing or a transposed input.
ACCURACY_FLOOR = 0.90
ACCURACY_FLOOR_IN_CHARSET = 0.93


@pytest.fixture(scope="module")
def crops(test_data: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = np.load(test_data / "sample_crops.npz")
    return d["x"].astype(np.float32)[..., None] / 255.0, d["y"], d["source"]


@pytest.fixture
def model_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "model"
    dst.mkdir()
    for name in ("model.onnx", "labels.json", "model_card.json"):
        shutil.copy(model_dir() / name, dst / name)
    return dst


def test_classifier_meets_the_interface(classifier):
    assert isinstance(classifier, Classifier)
    assert classifier.labels == tuple("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    assert classifier.card["num_classes"] == 36


def test_accuracy_on_committed_test_writer_crops(classifier, crops):
    x, y, _ = crops
    p = classifier.predict_proba(x)
    assert p.shape == (len(x), 36) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-4)
    assert (p.argmax(1) == y).mean() >= ACCURACY_FLOOR
    # told whether a crop is a digit or a letter (the app's charset option), it does better still
    top_digit = np.array([a[0][0] for a in classifier.top_k(p[y < 10], 1, "digits")])
    top_letter = np.array([a[0][0] for a in classifier.top_k(p[y >= 10], 1, "letters")])
    labels = np.array(classifier.labels)
    correct = (top_digit == labels[y[y < 10]]).sum() + (top_letter == labels[y[y >= 10]]).sum()
    assert correct / len(y) >= ACCURACY_FLOOR_IN_CHARSET


def test_transposed_crops_score_worse(classifier, crops):
    # guards the orientation contract: the model reads upright crops only
    x, y, _ = crops
    upright = (classifier.predict_proba(x).argmax(1) == y).mean()
    transposed = (classifier.predict_proba(x.transpose(0, 2, 1, 3)).argmax(1) == y).mean()
    assert transposed < upright - 0.3


def test_input_forms_agree(classifier, crops):
    x, _, _ = crops
    a = classifier.predict_proba(x[:10])
    b = classifier.predict_proba(x[:10, :, :, 0])
    c = classifier.predict_proba(CropBatch(np.ascontiguousarray(x[:10])))
    d = classifier.predict_proba(np.rint(x[:10, :, :, 0] * 255).astype(np.uint8))
    np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_allclose(a, c, atol=1e-6)
    np.testing.assert_allclose(a, d, atol=2e-2)
    assert classifier.predict_proba(np.zeros((0, 28, 28), np.float32)).shape == (0, 36)
    with pytest.raises(ValueError):
        classifier.predict_proba(np.zeros((2, 32, 32), np.float32))


def test_top_k_is_sorted_and_renormalised(classifier, crops):
    x, _, _ = crops
    p = classifier.predict_proba(x[:20])
    for charset, allowed in (
        ("alnum", set(classifier.labels)),
        ("letters", set("ABCDEFGHIJKLMNOPQRSTUVWXYZ")),
        ("digits", set("0123456789")),
    ):
        full = classifier.top_k(p, k=36, charset=charset)
        for row in full:
            probs = [q for _, q in row]
            assert {c for c, _ in row} == allowed
            assert probs == sorted(probs, reverse=True)
            assert sum(probs) == pytest.approx(1.0, abs=1e-6)
        top3 = classifier.top_k(p, k=3, charset=charset)
        assert all(len(r) == 3 and r == f[:3] for r, f in zip(top3, full, strict=True))
    # renormalisation: a restricted probability is the raw one over the charset's total
    idx = charset_indices(classifier.labels, "digits")
    best = classifier.top_k(p[:1], k=1, charset="digits")[0][0]
    j = classifier.labels.index(best[0])
    assert best[1] == pytest.approx(p[0, j] / p[0, idx].sum(), rel=1e-5)
    with pytest.raises(ValueError):
        classifier.top_k(p, charset="greek")


def test_charset_restriction_changes_an_ambiguous_answer(classifier, crops):
    x, y, _ = crops
    zeros = x[y == 0]  # digit zeros: in "letters" mode they must come out as letters (mostly 'O')
    letters = [row[0][0] for row in classifier.top_k(classifier.predict_proba(zeros), 1, "letters")]
    assert all(c.isalpha() for c in letters)
    assert letters.count("O") >= len(letters) // 2


def test_embedding_shape(classifier, crops):
    x, _, _ = crops
    e = classifier.embed(x[:5])
    assert e.shape == (5, classifier.card["outputs"]["embedding"][1]) and e.dtype == np.float32
    assert np.isfinite(e).all()


def test_classify_carries_boxes_and_alternatives(classifier, crops):
    x, _, _ = crops
    boxes = tuple(Box(10 * i, 5, 8, 12) for i in range(4))
    preds = classifier.classify(CropBatch(np.ascontiguousarray(x[:4]), boxes), k=3, charset="alnum")
    assert [p.box for p in preds] == list(boxes)
    for p in preds:
        assert p.char == p.alternatives[0][0] and p.confidence == pytest.approx(p.alternatives[0][1])
        assert len(p.alternatives) == 3
    no_boxes = classifier.classify(CropBatch(np.ascontiguousarray(x[:2])), k=5, charset="digits")
    assert all(p.box is None and p.char.isdigit() and len(p.alternatives) == 5 for p in no_boxes)


# -- faults injected on purpose -------------------------------------------------------------


def test_missing_folder(tmp_path):
    with pytest.raises(ModelError, match="nowhere"):
        CharClassifier.load(tmp_path / "nowhere")


def test_missing_onnx(model_copy):
    (model_copy / "model.onnx").unlink()
    with pytest.raises(ModelError, match="model.onnx"):
        CharClassifier.load(model_copy)


def test_truncated_onnx(model_copy):
    f = model_copy / "model.onnx"
    f.write_bytes(f.read_bytes()[:5000])
    with pytest.raises(ModelError, match="model.onnx"):
        CharClassifier.load(model_copy)


def test_corrupt_onnx_even_when_the_card_matches(model_copy):
    # a damaged file whose hash was (wrongly) copied into the card: onnxruntime must still be caught
    import hashlib

    f = model_copy / "model.onnx"
    f.write_bytes(b"not an onnx model" * 100)
    card = json.loads((model_copy / "model_card.json").read_text())
    card["onnx_sha256"] = hashlib.sha256(f.read_bytes()).hexdigest()
    (model_copy / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="model.onnx"):
        CharClassifier.load(model_copy)


def test_labels_disagreeing_with_card(model_copy):
    labels = json.loads((model_copy / "labels.json").read_text())
    labels[10], labels[11] = labels[11], labels[10]
    (model_copy / "labels.json").write_text(json.dumps(labels))
    with pytest.raises(ModelError, match="labels.json"):
        CharClassifier.load(model_copy)


def test_wrong_class_count_in_card(model_copy):
    card = json.loads((model_copy / "model_card.json").read_text())
    card["num_classes"] = 62
    (model_copy / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="model_card.json"):
        CharClassifier.load(model_copy)


def test_wrong_input_shape_in_card(model_copy):
    card = json.loads((model_copy / "model_card.json").read_text())
    card["input"]["shape"] = [None, 32, 32, 1]
    (model_copy / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="model_card.json"):
        CharClassifier.load(model_copy)


def test_damaged_card_json(model_copy):
    (model_copy / "model_card.json").write_text("{not json")
    with pytest.raises(ModelError, match="model_card.json"):
        CharClassifier.load(model_copy)


def test_missing_labels(model_copy):
    (model_copy / "labels.json").unlink()
    with pytest.raises(ModelError, match="labels.json"):
        CharClassifier.load(model_copy)


def test_intact_copy_loads(model_copy, classifier, crops):
    x, _, _ = crops
    clf = CharClassifier.load(model_copy)
    np.testing.assert_allclose(clf.predict_proba(x[:8]), classifier.predict_proba(x[:8]), atol=1e-6)


def test_case_head_tells_capitals_from_small_letters_by_shape(classifier):
    """The bundled model's case head on test writers' letters whose two cases differ in shape."""
    from scanner_app.core.crops import frame_glyph
    from tests.pagegen import GlyphSource, _render_strokes

    assert classifier.has_case
    src = GlyphSource.from_sample()
    glyphs, truth = [], []
    for ch in "ABDEFGHNQRTabdefghnqrt":
        for _, strokes in src.strokes.get(ch, []):
            ink, _ = _render_strokes(strokes, 64.0, 4.0)
            glyphs.append(frame_glyph(ink))
            truth.append(ch.isupper())
    assert len(glyphs) > 60 and 0.3 < np.mean(truth) < 0.7
    up = classifier.upper_proba(np.stack(glyphs))
    assert up.shape == (len(glyphs),) and ((up >= 0) & (up <= 1)).all()
    right = float(np.mean((up >= 0.5) == np.array(truth)))
    # about half are capitals, so guessing scores ~0.5; a working head reads most of them
    assert right >= 0.8, right
    # one pass gives both outputs, the same as asking for each
    probs, up2 = classifier.predict_with_case(np.stack(glyphs[:5]))
    np.testing.assert_allclose(probs, classifier.predict_proba(np.stack(glyphs[:5])), atol=1e-6)
    np.testing.assert_allclose(up2, up[:5], atol=1e-6)
