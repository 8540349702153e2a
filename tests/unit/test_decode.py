"""Decoding probabilities into text: spaces, lines, letters or digits, word list and case."""

from __future__ import annotations

import numpy as np
import pytest

from scanner_app.core.decode import decode_lines
from scanner_app.core.types import Box

LABELS = tuple("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
CAP, XH = 40, 24  # cap height and x-height of the fake handwriting, in pixels


def _probs(spec: list[dict[str, float]]) -> np.ndarray:
    """One row per character: the given label probabilities, the rest spread thinly."""
    p = np.full((len(spec), len(LABELS)), 1e-4, np.float32)
    for i, d in enumerate(spec):
        for lab, v in d.items():
            p[i, LABELS.index(lab)] = v
    return p / p.sum(1, keepdims=True)


def _layout(words: list[list[str]], line: int = 0, y0: int = 100):
    """Boxes for words of characters; a letter's height follows its lower/upper case shape."""
    lines, wds, boxes = [], [], []
    x = 10
    for wi, word in enumerate(words):
        for ch in word:
            tall = ch.isupper() or ch.isdigit() or ch in "bdfhklt"
            h = CAP if tall else XH
            descends = ch in "gjpqy"
            top = y0 - h + (12 if descends else 0)
            boxes.append(Box(x, top, 20, h))
            lines.append(line)
            wds.append(wi)
            x += 26
        x += 30
    return lines, wds, boxes


def _decode(words, spec, **kw):
    lines, wds, boxes = _layout(words)
    return decode_lines(lines, wds, boxes, _probs(spec), LABELS, **kw)


def sure(ch: str) -> dict[str, float]:
    return {ch.upper(): 0.97}


def test_spaces_and_line_breaks():
    l0, w0, b0 = _layout([list("ab"), list("cd")], line=0, y0=100)
    l1, w1, b1 = _layout([list("ef")], line=1, y0=200)
    spec = [sure(c) for c in "abcdef"]
    out = decode_lines(l0 + l1, w0 + w1, b0 + b1, _probs(spec), LABELS, dictionary=False)
    assert [ln.text for ln in out] == ["ab cd", "ef"]
    assert [c.index for ln in out for c in ln.chars] == list(range(6))
    assert all(len(c.alternatives) == 3 for ln in out for c in ln.chars)


def test_zero_among_letters_reads_o_and_o_among_digits_reads_zero():
    # "nov" written with a zero-like o; "2024" with an O-like 0.
    out = _decode([list("nov")], [sure("n"), {"0": 0.7, "O": 0.3}, sure("v")], dictionary=False)
    assert out[0].text == "nov"
    out = _decode(
        [list("2024")], [sure("2"), {"O": 0.99, "0": 0.01}, sure("2"), {"4": 0.6, "A": 0.4}], dictionary=False
    )
    assert out[0].text == "2024"


def test_one_and_five_in_a_number():
    out = _decode([list("1985")], [{"I": 0.8, "1": 0.2}, sure("9"), sure("8"), {"S": 0.7, "5": 0.3}])
    assert out[0].text == "1985"


def test_word_list_fixes_an_unsure_letter_and_keeps_a_sure_reading():
    # "hcllo": the model is unsure between C and E at the second letter.
    spec = [sure("h"), {"C": 0.5, "E": 0.4, "O": 0.1}, sure("l"), sure("l"), sure("o")]
    assert _decode([list("hello")], spec)[0].text == "hello"
    assert _decode([list("hello")], spec, dictionary=False)[0].text == "hcllo"
    # A confidently read non-word stays as written.
    spec = [sure(c) for c in "xqzt"]
    assert _decode([list("xqzt")], spec)[0].text == "xqzt"


def test_case_from_height():
    # "Hello WORLD": capitals reach the cap height, small letters the x-height.
    words = [list("Hello"), list("WORLD"), list("cocoa")]
    spec = [sure(c) for c in "HelloWORLDcocoa"]
    out = _decode(words, spec, dictionary=False)
    # H is tall in both cases: lower case unless the word is in capitals.
    assert out[0].text == "hello WORLD cocoa"


def test_capital_among_small_letters():
    words = [list("Some"), list("text"), list("Color")]
    spec = [sure(c) for c in "SometextColor"]
    assert _decode(words, spec, dictionary=False)[0].text == "Some text Color"


@pytest.mark.parametrize(("charset", "expected"), [("digits", "0"), ("letters", "O")])
def test_charset_restricts_the_answer(charset, expected):
    out = _decode([list("O")], [{"O": 0.5, "0": 0.4, "Q": 0.1}], charset=charset, dictionary=False)
    assert out[0].text.upper() == expected
    assert all(
        a[0].upper() in (LABELS[:10] if charset == "digits" else LABELS[10:])
        for a in out[0].chars[0].alternatives
    )


def test_confidence_is_the_chosen_characters_probability():
    out = _decode([list("ab")], [{"A": 0.6, "4": 0.4}, sure("b")], dictionary=False)
    c = out[0].chars[0]
    assert c.char == "a" and 0.6 <= c.confidence <= 1.0
    assert c.alternatives[0][0] == "a"


def test_empty_input():
    assert decode_lines([], [], [], np.zeros((0, 36), np.float32), LABELS) == []


def test_a_letter_split_in_two_is_joined_by_the_word_list():
    # "another" whose 'a' was cut into an 'o' and a stem ('l'): 8 glyphs, 7 letters.
    words = [list("aanother")]
    spec = [{"O": 0.6, "A": 0.3}, {"L": 0.5, "I": 0.3, "A": 0.2}] + [sure(c) for c in "nother"]
    lines, wds, boxes = _layout(words)
    out = decode_lines(lines, wds, boxes, _probs(spec), LABELS)
    assert out[0].text == "another"
    assert len(out[0].chars) == 7  # one prediction per letter...
    joined = [c for c in out[0].chars if c.extra]
    assert len(joined) == 1 and joined[0].extra[0] == joined[0].index + 1  # ...one of them from two glyphs
    assert decode_lines(lines, wds, boxes, _probs(spec), LABELS, dictionary=False)[0].text == "olnother"


def _glyph(draw) -> np.ndarray:
    import cv2

    m = np.zeros((40, 30), np.uint8)
    draw(m, cv2)
    return m


def test_capital_t_and_d_by_shape():
    from scanner_app.core.decode import capital_by_shape

    big_t = _glyph(
        lambda m, cv2: (cv2.line(m, (2, 2), (27, 2), 255, 3), cv2.line(m, (15, 2), (15, 38), 255, 3))
    )
    small_t = _glyph(
        lambda m, cv2: (cv2.line(m, (4, 14), (26, 14), 255, 3), cv2.line(m, (15, 1), (17, 38), 255, 3))
    )
    big_d = _glyph(
        lambda m, cv2: (
            cv2.line(m, (3, 1), (3, 38), 255, 3),
            cv2.ellipse(m, (3, 20), (24, 18), 0, -90, 90, 255, 3),
        )
    )
    small_d = _glyph(
        lambda m, cv2: (cv2.circle(m, (11, 28), 9, 255, 3), cv2.line(m, (24, 1), (24, 38), 255, 3))
    )
    assert capital_by_shape("T", big_t) and not capital_by_shape("t", small_t)
    assert capital_by_shape("D", big_d) and not capital_by_shape("d", small_d)
    assert not capital_by_shape("h", big_t) and not capital_by_shape("T", None)


def test_word_initial_capital_t_from_its_shape():
    import cv2

    lines, wds, boxes = _layout([list("the"), list("The")])
    small_t = np.zeros((boxes[0].h, boxes[0].w), np.uint8)
    cv2.line(small_t, (2, 14), (18, 14), 255, 3)
    cv2.line(small_t, (10, 0), (10, 39), 255, 3)
    big_t = np.zeros_like(small_t)
    cv2.line(big_t, (0, 1), (19, 1), 255, 3)
    cv2.line(big_t, (10, 1), (10, 39), 255, 3)
    masks = [small_t, None, None, big_t, None, None]
    spec = [sure(c) for c in "thethe"]
    out = decode_lines(lines, wds, boxes, _probs(spec), LABELS, dictionary=False, masks=masks)
    assert out[0].text == "the The"


def _decode_with_head(words, upper, **kw):
    lines, wds, boxes = _layout(words)
    chars = "".join("".join(w) for w in words)
    probs = _probs([sure(c) for c in chars])
    return decode_lines(lines, wds, boxes, probs, LABELS, dictionary=False, upper=np.asarray(upper), **kw)


def test_case_head_capitalises_letters_tall_in_both_cases():
    # "Hello": H is as tall as h, so height alone reads "hello"; the head knows H's shape.
    words = [list("Hello"), list("bird")]
    unsure = [0.5] * 9
    assert _decode_with_head(words, unsure)[0].text == "hello bird"
    sure_h = [0.97, 0.02, 0.1, 0.1, 0.3, 0.05, 0.4, 0.02, 0.1]
    assert _decode_with_head(words, sure_h)[0].text == "Hello bird"
    # switched off (or a model without the head): height only
    lines, wds, boxes = _layout(words)
    probs = _probs([sure(c) for c in "Hellobird"])
    assert decode_lines(lines, wds, boxes, probs, LABELS, dictionary=False)[0].text == "hello bird"


def test_case_head_overrides_height_only_when_sure():
    # "Some": a tall S is a capital by height; the head is unsure about S/s (same shape), so
    # height decides. A sure "lower case" vote beats a sloppy tall first letter ("Gap" -> "gap").
    words = [list("Some"), list("text"), list("Gap")]
    upper = [0.55, 0.1, 0.2, 0.05, 0.3, 0.1, 0.2, 0.3, 0.5, 0.1, 0.4]
    assert _decode_with_head(words, upper)[0].text == "Some text Gap"
    upper[8] = 0.03  # G shaped like a g
    assert _decode_with_head(words, upper)[0].text == "Some text gap"
    # words of letters tall in both cases: the head's votes make them capitals ("HIT")
    assert _decode_with_head([list("HIT")], [0.95, 0.9, 0.93])[0].text == "HIT"
    assert _decode_with_head([list("bit")], [0.05, 0.3, 0.1])[0].text == "bit"


def test_case_head_vote_ignores_missing_values():
    from scanner_app.core.decode import _shape_vote

    assert _shape_vote(None) is None and _shape_vote(float("nan")) is None
    assert _shape_vote(0.95) is True and _shape_vote(0.05) is False and _shape_vote(0.6) is None


def test_case_head_does_not_make_a_capital_of_a_letter_at_x_height():
    # The sample page's "quick": its q looks like a Q to the head (P 1.0) but is as small as u i c.
    words = [list("the"), list("quick"), list("Gap")]
    upper = [0.01, 0.01, 0.02, 0.999, 0.3, 0.01, 0.4, 0.2, 0.5, 0.1, 0.4]
    assert _decode_with_head(words, upper)[0].text == "the quick Gap"
