"""Letters drawn as separate strokes are read as one character; neighbouring letters are not joined.

Real images (drawn with cv2 at handwriting scale, or composed by the page generator from the
committed test-writer sample) through the real scan path with the real model.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from scanner_app.core.image_io import page_from_array
from scanner_app.core.pipeline import ScanConfig, run_scan
from scanner_app.core.segment import segment
from tests.pagegen import GlyphSource, make_page

PEN = 6  # px: a pen about a tenth of the 60 px letter height, as in the page generator


def _page(draw) -> np.ndarray:
    """A white page with dark strokes drawn by ``draw(ink)`` on a binary ink image."""
    ink = np.zeros((200, 220), np.uint8)
    draw(ink)
    return np.where(ink > 0, 35, 245).astype(np.uint8)


def _h_with_a_gap(ink: np.ndarray) -> None:
    # The bar starts at the left stem and stops short of the right one (a pen lift): the
    # ink is 5 px (0.8 pen widths) apart, further than the geometric join allows.
    cv2.line(ink, (80, 70), (80, 130), 255, PEN)
    cv2.line(ink, (122, 70), (122, 130), 255, PEN)
    cv2.line(ink, (80, 100), (111, 100), 255, PEN)


def _k_with_a_gap(ink: np.ndarray) -> None:
    # Stem, then the two arms drawn as one stroke whose vertex stops short of the stem.
    cv2.line(ink, (80, 70), (80, 130), 255, PEN)
    cv2.line(ink, (119, 70), (91, 100), 255, PEN)
    cv2.line(ink, (91, 100), (121, 130), 255, PEN)


def _j_with_a_floating_bar(ink: np.ndarray) -> None:
    # The bar floats well above the hook: before, it fell on a "line" of its own.
    cv2.line(ink, (84, 28), (124, 28), 255, PEN)
    cv2.line(ink, (110, 90), (110, 130), 255, PEN)
    cv2.ellipse(ink, (96, 130), (14, 12), 0, 0, 180, 255, PEN)


def _i_with_an_offset_dot(ink: np.ndarray) -> None:
    # A dot dashed off to the right of the stem's top, not above it (a slanted hand).
    cv2.line(ink, (90, 90), (90, 130), 255, PEN)
    cv2.line(ink, (102, 58), (106, 72), 255, PEN)


SEPARATE_STROKES = {
    "H": _h_with_a_gap,
    "K": _k_with_a_gap,
    "J": _j_with_a_floating_bar,
    "I": _i_with_an_offset_dot,
}


@pytest.mark.parametrize("letter", ["H", "K", "I"])
def test_the_drawn_letters_are_in_pieces_without_the_classifier(letter):
    # The premise of the classifier test: geometry alone leaves each of these in two pieces.
    assert len(segment(_page_ink(SEPARATE_STROKES[letter])).chars) == 2


def test_a_bar_floating_high_above_its_letter_belongs_to_it():
    # A J's bar a whole hook height above the hook: one line, one character, by geometry.
    lay = segment(_page_ink(_j_with_a_floating_bar))
    assert len(lay.lines) == 1
    assert len(lay.chars) == 1


def _page_ink(draw) -> np.ndarray:
    ink = np.zeros((200, 220), np.uint8)
    draw(ink)
    return ink


@pytest.mark.parametrize("letter", list(SEPARATE_STROKES))
def test_a_letter_drawn_as_separate_strokes_is_one_character(classifier, letter):
    page = page_from_array(_page(SEPARATE_STROKES[letter]))
    result = run_scan(page, classifier, ScanConfig("letters", dictionary=False))
    assert len(result.lines) == 1
    assert [c.char.upper() for c in result.lines[0].chars] == [letter]


def _letter(ink: np.ndarray, ch: str, x: int) -> None:
    """Draw a small c, l, r or n whose ink starts at column ``x`` (baseline y=131)."""
    h = PEN // 2
    if ch == "c":
        cv2.ellipse(ink, (x + h + 15, 115), (15, 16), 0, 40, 320, 255, PEN)
    elif ch == "l":
        cv2.line(ink, (x + h, 70), (x + h, 131), 255, PEN)
    elif ch == "r":
        cv2.line(ink, (x + h, 100), (x + h, 131), 255, PEN)
        cv2.ellipse(ink, (x + h + 11, 112), (11, 10), 0, 200, 300, 255, PEN)
    else:  # "n"
        cv2.line(ink, (x + h, 100), (x + h, 131), 255, PEN)
        cv2.ellipse(ink, (x + h + 13, 116), (13, 14), 0, 180, 360, 255, PEN)
        cv2.line(ink, (x + h + 26, 116), (x + h + 26, 131), 255, PEN)


def _pair(first: str, second: str, gap: float):
    """Draw two letters side by side with ``gap`` pen widths of paper between their ink."""

    def draw(ink: np.ndarray) -> None:
        _letter(ink, first, 70)
        right = int(np.flatnonzero(ink.any(0))[-1]) + 1
        _letter(ink, second, right + int(round(gap * PEN)))

    return draw


@pytest.mark.parametrize("pair", ["cl", "rn", "lc", "nr", "ll"])
@pytest.mark.parametrize("gap", [1.5, 2.5])
def test_two_neighbouring_letters_alone_on_a_line_stay_two(classifier, pair, gap):
    # The hardest case: two letters with nothing else on the line to compare their spacing
    # with. 1.5 pen widths of paper apart they stay two (at one pen width or less, 'cl'
    # alone on a line reads 'd': a letter drawn in two strokes looks just like that).
    page = page_from_array(_page(_pair(pair[0], pair[1], gap)))
    for charset in ("alnum", "letters"):
        result = run_scan(page, classifier, ScanConfig(charset, dictionary=False))
        assert sum(len(line.chars) for line in result.lines) == 2, charset


def test_short_words_alone_on_their_lines_keep_their_letters(classifier):
    # Test writers' strokes (committed sample), one short word per line: none is joined
    # into one letter ('cl' as d, 'rn' as m, 'il' as u).
    text = "cl\nrn\nil\nit\nin\nof"
    gen = make_page(GlyphSource.from_sample(), np.random.default_rng(4), text=text)
    result = run_scan(page_from_array(gen.image), classifier, ScanConfig(dictionary=False))
    assert [len(line.chars) for line in result.lines] == [2] * 6


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_words_on_a_page_are_not_joined_into_fewer_letters(classifier, seed):
    # Within words, neighbouring letters are as close as the strokes of one letter: no line
    # may come out shorter than it is ('rn' as m, 'cl' as d). (Longer is another matter: a
    # d split into c and l, which the word list repairs.)
    text = "modern clear\nburn cloud lit\nturn class"
    gen = make_page(GlyphSource.from_sample(), np.random.default_rng(seed), text=text)
    result = run_scan(page_from_array(gen.image), classifier, ScanConfig(dictionary=False))
    got = [len(line.text.replace(" ", "")) for line in result.lines]
    want = [len(line.replace(" ", "")) for line in text.split("\n")]
    assert len(got) == len(want)
    assert all(g >= w for g, w in zip(got, want, strict=True)), (got, want)
