"""Data loading, splitting, framing and augmentation on the small committed samples (no TensorFlow)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from model_training import augment, synth
from model_training import data as D
from scanner_app.core import crops
from tests.idx import write_idx

MINI = Path(__file__).resolve().parent.parent / "data" / "train_mini"


def test_class_mapping_digits_then_merged_letters():
    y_byclass = np.array([0, 9, 10, 35, 36, 61])  # '0', '9', 'A', 'Z', 'a', 'z'
    y_letter = np.array([0, 0, 1, 26, 1, 26])
    assert D.to_class36(y_byclass, y_letter).tolist() == [0, 9, 10, 35, 10, 35]
    assert D.LABELS[10] == "A" and D.LABELS[35] == "Z" and len(D.LABELS) == 36


def test_writer_rules_match_the_data_readme():
    writers = [f"f{i:04d}_{i % 90:02d}" for i in range(2000)]
    test = [w for w in writers if D.is_test_writer(w)]
    val = [w for w in writers if D.is_val_writer(w)]
    assert 0.15 < len(test) / len(writers) < 0.25
    assert not set(test) & set(val)
    assert 0.05 < len(val) / (len(writers) - len(test)) < 0.15


def test_npz_loader_on_committed_sample():
    s = D.load_npz_set(MINI / D.FILES["unipen"], "unipen")
    assert s.x.shape[1:] == (28, 28) and s.x.dtype == np.uint8
    assert s.y.min() >= 0 and s.y.max() <= 35
    assert s.strokes is not None and s.strokes[2].sum() == len(s.strokes[1])
    assert s.clean.dtype == bool
    # subset keeps each sample's own strokes
    sub = s.subset(np.arange(len(s)) % 2 == 1)
    assert len(sub.strokes[2]) == len(sub) and sub.strokes[1].sum() == len(sub.strokes[0])


def test_load_splits_separates_writers_and_frames_everything():
    s = D.load_splits(MINI, cache_dir=None)
    train_w = {w for t in s.train for w in t.writer if w}
    val_w = {w for t in s.val for w in t.writer if w}
    test_w = {
        w
        for k in ("femnist_letters", "femnist_digits", "unipen_letters", "unipen_digits")
        for w in s.test[k].writer
    }
    assert test_w and val_w and train_w
    assert all(D.is_test_writer(w) for w in test_w)
    assert not train_w & test_w and not val_w & test_w and not train_w & val_w
    assert set(s.test) >= {
        "femnist_letters",
        "femnist_digits",
        "unipen_letters",
        "unipen_digits",
        "mnist_test",
        "chars74k",
        "omniglot",
        "comnist",
    }
    assert (s.test["femnist_letters"].y >= 10).all() and (s.test["femnist_digits"].y < 10).all()
    # every image went through the app's framing: the same bytes as framing it again here
    raw = D.load_npz_set(MINI / D.FILES["chars74k"], "chars74k")
    expect = crops.to_uint8(crops.frame_batch(raw.x)[..., None]).reshape(-1, 28, 28)
    np.testing.assert_array_equal(s.test["chars74k"].x, expect)


def test_frame_cache_round_trip(tmp_path):
    x = D.load_npz_set(MINI / D.FILES["femnist"], "femnist").x[:20]
    a = D.frame_cached(x, "t", cache_dir=tmp_path)
    assert len(list(tmp_path.glob("t-*.npy"))) == 1
    b = D.frame_cached(x, "t", cache_dir=tmp_path)
    np.testing.assert_array_equal(a, b)
    assert a.max() == 255


def test_emnist_idx_loader_makes_images_upright(tmp_path):
    upright = np.zeros((3, 28, 28), np.uint8)
    upright[:, 2:26, 5:8] = 255  # a vertical bar
    upright[:, 2:5, 5:20] = 255  # with a top arm: an upright 'F'-like shape
    labels = np.array([1, 6, 26], np.uint8)
    write_idx(tmp_path / "emnist-letters-test-images-idx3-ubyte.gz", upright.transpose(0, 2, 1))
    write_idx(tmp_path / "emnist-letters-test-labels-idx1-ubyte.gz", labels)
    s = D.load_emnist_letters_idx(tmp_path, "test")
    np.testing.assert_array_equal(s.x, upright)
    assert s.y.tolist() == [10, 15, 35]


def test_train_emnist_option_adds_upright_framed_letters_to_the_training_arrays(tmp_path):
    from model_training.train import TrainConfig, add_emnist, build_training_arrays

    # A tiny EMNIST letters folder: 'L' shapes stored transposed, as EMNIST stores them.
    upright = np.zeros((4, 28, 28), np.uint8)
    upright[:, 4:24, 8:12] = 255  # the stem
    upright[:, 20:24, 8:22] = 255  # the foot at the bottom right
    write_idx(tmp_path / "emnist-letters-train-images-idx3-ubyte.gz", upright.transpose(0, 2, 1))
    write_idx(tmp_path / "emnist-letters-train-labels-idx1-ubyte.gz", np.full(4, 12, np.uint8))
    cfg = TrainConfig(
        data=str(MINI),
        emnist=str(tmp_path),
        augment_copies=1,
        rerender_widths=(),
        fonts_per_char=0,
        cache_dir=None,
        verbose=0,
    )
    splits = D.load_splits(MINI, cache_dir=None, keep_raw=True)
    assert add_emnist(cfg, splits) == 4
    assert splits.sources["emnist_letters"]["file"] == str(tmp_path)
    assert len(splits.sources["emnist_letters"]["content_sha256"]) == 64
    x, y, case, *_, counts = build_training_arrays(cfg, splits)
    assert counts["emnist_letters_train"] == 4 and counts["emnist_letters_train_aug0"] == 4
    assert len(x) == len(y) == len(case) == sum(counts.values())
    # the EMNIST part sits where the counts say, labelled L, case unknown, framed like the app
    start = list(counts).index("emnist_letters_train")
    at = sum(list(counts.values())[:start])
    part = x[at : at + 4]
    assert y[at : at + 4].tolist() == [D.LABELS.index("L")] * 4 and (case[at : at + 4] == -1).all()
    np.testing.assert_array_equal(
        part, crops.to_uint8(crops.frame_batch(upright)[..., None]).reshape(-1, 28, 28)
    )
    # upright: the foot is at the bottom of the crop, the stem on the left
    assert part[0, 20:].sum() > part[0, :8].sum() and part[0, :, :10].sum() > part[0, :, 18:].sum()


def test_emnist_source_that_is_missing_gets_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="emnist-letters-train-images"):
        D.load_emnist_letters(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="emnist-letters-train-images"):
        D.load_emnist_letters(tmp_path)  # a folder without the files


def test_idx_reader_rejects_truncated_file(tmp_path):
    p = tmp_path / "bad-idx3-ubyte.gz"
    header = struct.pack(">HBB", 0, 0x08, 3) + struct.pack(">III", 5, 28, 28)
    with gzip.open(p, "wb") as f:
        f.write(header + bytes(100))
    with pytest.raises(ValueError, match="expected"):
        D.read_idx(p)


def test_augmentation_is_seeded_and_changes_the_glyph():
    x = D.load_npz_set(MINI / D.FILES["unipen"], "unipen").x[:16]
    a = augment.augmented_framed(x, key="a", seed=3, cache_dir=None)
    b = augment.augmented_framed(x, key="a", seed=3, cache_dir=None)
    plain = D.frame_cached(x, "p", cache_dir=None)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (16, 28, 28) and a.dtype == np.uint8
    assert (a.reshape(16, -1).max(1) == 255).all()
    assert np.abs(a.astype(int) - plain).mean() > 5


def test_rerendered_trajectories_resemble_the_original_rendering():
    s = D.load_npz_set(MINI / D.FILES["unipen"], "unipen")
    r = augment.rerender_framed(s.strokes, width=0.085, key="r", seed=0, cache_dir=None, jitter=0.0)
    plain = D.frame_cached(s.x, "p", cache_dir=None)
    assert r.shape == plain.shape
    # same strokes, same pen width as the data set's own rendering: close, pixel for pixel
    corr = [np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(r, plain, strict=True)]
    assert np.median(corr) > 0.8


def test_restyled_trajectories_move_strokes_against_each_other_but_keep_the_glyph():
    s = D.load_npz_set(MINI / D.FILES["unipen"], "unipen")
    samples = [smp for smp in augment.iter_samples(s.strokes) if len(smp) >= 2][:30]
    assert len(samples) >= 10
    rng = np.random.default_rng(0)
    # strength 0 leaves the trajectory exactly as written
    for smp in samples:
        for a, b in zip(augment.restyle_strokes(smp, rng, 0.0), smp, strict=True):
            np.testing.assert_allclose(a, b[:, :2])
    moved, corr = [], []
    for smp in samples:
        new = augment.restyle_strokes(smp, rng, 1.0)
        assert [len(p) for p in new] == [len(p) for p in smp]
        size = float(np.ptp(np.concatenate(smp)[:, :2], 0).max())
        # the offset between the first two strokes' centres changes: strokes move on their own
        before = smp[1][:, :2].mean(0) - smp[0][:, :2].mean(0)
        after = new[1].mean(0) - new[0].mean(0)
        moved.append(np.linalg.norm(after - before) / size)
        img_a = crops.frame_glyph(augment.render_strokes(smp, 0.085))
        img_b = crops.frame_glyph(augment.render_strokes(new, 0.085))
        corr.append(np.corrcoef(img_a.ravel(), img_b.ravel())[0, 1])
    assert np.median(moved) > 0.04  # several per cent of the glyph
    assert np.max(moved) < 0.5  # never torn apart
    # still the same character: the framed crops stay alike, but not identical
    assert 0.4 < np.median(corr) < 0.98


def test_restyled_rerendering_is_seeded_and_differs_from_the_plain_one():
    s = D.load_npz_set(MINI / D.FILES["unipen"], "unipen")
    plain = augment.rerender_framed(s.strokes, width=0.085, key="p", seed=0, cache_dir=None)
    a = augment.rerender_framed(s.strokes, width=0.085, key="s", seed=0, cache_dir=None, style=1.0)
    b = augment.rerender_framed(s.strokes, width=0.085, key="s", seed=0, cache_dir=None, style=1.0)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a.astype(int) - plain).mean() > 3


def test_font_synthesis_without_fonts_is_empty():
    x, y = synth.font_glyphs_framed(5, seed=0, cache_dir=None, fonts=[])
    assert x.shape == (0, 28, 28) and y.shape == (0,)


def test_font_synthesis_with_an_installed_font():
    fonts = synth.find_fonts()
    if not fonts:
        pytest.skip("no handwriting font installed (see README: apt-get install fonts-...)")
    x, y = synth.font_glyphs_framed(1, seed=0, cache_dir=None, fonts=fonts[:1])
    assert len(x) == len(y) > 30
    assert set(y.tolist()) <= set(range(36))
    assert (x.reshape(len(x), -1).max(1) == 255).all()


def test_letter_case_comes_from_the_byclass_labels_and_follows_subsets():
    np.testing.assert_array_equal(D.case_of_byclass(np.array([0, 9, 10, 35, 36, 61])), [-1, -1, 1, 1, 0, 0])
    s = D.load_npz_set(MINI / D.FILES["unipen"], "unipen")
    with np.load(MINI / D.FILES["unipen"]) as d:
        byclass = d["y_byclass"]
    assert (s.case == D.case_of_byclass(byclass)).all()
    assert {1, 0} <= set(s.case[s.y >= 10].tolist()) and (s.case[s.y < 10] == -1).all()
    tr, _, _ = D.split_by_writer(s)
    framed = D.framed(tr, cache_dir=None)
    assert (framed.case == tr.case).all() and len(framed.case) == len(tr)
    # sets without case (MNIST) say "unknown"
    m_tr, _ = D.load_mnist(MINI / D.FILES["mnist"])
    assert (m_tr.case == -1).all()


def test_font_glyph_case_labels():
    assert synth.char_case("a") == 0 and synth.char_case("Q") == 1 and synth.char_case("7") == -1
    assert synth.char_case("a", "Humor-Sans.ttf") == -1  # capitals drawn in the small-letter slots
    x, y, case = synth.font_glyphs_framed(5, seed=0, cache_dir=None, fonts=[], with_case=True)
    assert len(x) == len(y) == len(case) == 0
