"""Evaluation helpers: accuracy tables, charset accuracy, confusion matrix and its plot."""

from __future__ import annotations

import numpy as np
import pytest

from model_training.evaluate import accuracy_table, charset_accuracy, confusion, top_confusions


def _onehot(pred: list[int]) -> np.ndarray:
    p = np.full((len(pred), 36), 0.001, np.float32)
    p[np.arange(len(pred)), pred] = 0.9
    return p


def test_accuracy_table_counts_per_class():
    y = np.array([0, 0, 24, 24, 10])  # '0', '0', 'O', 'O', 'A'
    p = _onehot([0, 24, 24, 24, 11])
    t = accuracy_table({"s": p}, {"s": y})["s"]
    assert t["n"] == 5 and t["accuracy"] == pytest.approx(3 / 5)
    assert t["per_class"] == {"0": [1, 2], "O": [2, 2], "A": [0, 1]}


def test_charset_accuracy_resolves_digit_letter_pairs():
    y = np.array([0, 24])  # a digit zero read as 'O', a letter 'O' read as '0'
    p = _onehot([24, 0])
    p[0, 0] = 0.05  # second choice of the first sample: the digit '0'
    p[1, 24] = 0.05
    assert (p.argmax(1) == y).mean() == 0.0
    assert charset_accuracy(p, y) == 1.0


def test_confusion_and_top_confusions():
    y = np.array([5, 5, 5, 28])
    pred = np.array([28, 28, 5, 28])  # '5' read as 'S' twice
    m = confusion(y, pred)
    assert m.sum() == 4 and m[5, 28] == 2 and m[28, 28] == 1
    assert top_confusions(m)[0] == ["5", "S", 2]


def test_confusion_plot_is_written(tmp_path):
    pytest.importorskip("matplotlib")
    from model_training.evaluate import plot_confusion

    m = confusion(np.arange(36), np.arange(36))
    plot_confusion(m, tmp_path / "c.png", "t")
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_case_accuracy_scores_letters_of_known_case_against_the_majority():
    from model_training.evaluate import case_accuracy

    # classes: 10 = A, 17 = H, 3 = a digit (no case)
    y = np.array([10, 10, 17, 17, 3, 10])
    case = np.array([1, 0, 0, 0, -1, -1], np.int8)
    upper = np.array([0.9, 0.2, 0.7, 0.1, 0.99, 0.99], np.float32)
    r = case_accuracy(upper, case, y)
    assert r["n"] == 4  # the digit and the letter of unknown case do not count
    assert r["accuracy"] == 0.75  # the H read as a capital is the one mistake
    assert r["majority"] == 0.75  # 3 of the 4 are lower case
    assert r["per_letter"] == {"A": [1.0, 2], "H": [0.5, 2]}
    assert case_accuracy(upper[4:], case[4:], y[4:])["n"] == 0


def test_evaluation_of_a_model_trained_with_emnist_repeats_the_writer_caveat(tmp_path, capsys):
    import json
    import shutil
    from pathlib import Path

    from model_training.data import EMNIST_WRITER_NOTE
    from model_training.evaluate import run_evaluation

    root = Path(__file__).resolve().parent.parent.parent
    model = tmp_path / "model"
    shutil.copytree(root / "assets" / "model", model)
    card_path = model / "model_card.json"
    card = json.loads(card_path.read_text())
    card["emnist_note"] = EMNIST_WRITER_NOTE
    card_path.write_text(json.dumps(card))
    report = run_evaluation(str(root / "tests" / "data" / "train_mini"), str(model))
    assert report["emnist_note"] == EMNIST_WRITER_NOTE
    assert f"note: {EMNIST_WRITER_NOTE}" in capsys.readouterr().out
    assert EMNIST_WRITER_NOTE in json.loads(card_path.read_text())["test_accuracy_note"]
    assert 0 < report["sets"]["femnist_letters"]["accuracy"] <= 1  # the real model on real crops
