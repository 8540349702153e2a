"""Whole scans with the real bundled model: committed pages, degenerate pages, random input."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from scanner_app.core.errors import CancelledError, ScannerError
from scanner_app.core.image_io import load_page, page_from_array
from scanner_app.core.pipeline import ScanConfig, run_scan, scan
from scanner_app.core.types import PageImage, Progress
from tests.pagegen import GlyphSource, cer, make_page

PAGES = sorted(
    p.stem for p in (__import__("pathlib").Path(__file__).parent.parent / "data" / "pages").glob("*.json")
)


def _check_result(result, page: PageImage):
    w, h = page.original_size
    assert result.page_size == (w, h)
    n_text = sum(1 for ch in result.text if not ch.isspace())
    assert n_text == len(result.chars)  # every character has a prediction...
    for c in result.chars:
        assert c.box is not None and c.box.within(w, h)  # ...with a box inside the page
        assert 0.0 <= c.confidence <= 1.0
        assert 1 <= len(c.alternatives) <= 3


@pytest.mark.parametrize("name", PAGES)
def test_committed_pages_are_read(classifier, test_data, name):
    truth = json.loads((test_data / "pages" / f"{name}.json").read_text(encoding="utf-8"))
    path = next((test_data / "pages").glob(f"{name}.[pj][np]g"))
    page = load_page(path)
    result = run_scan(page, classifier)
    _check_result(result, page)
    assert len(result.lines) == len(truth["text"].split("\n"))
    # Case-insensitive CER; the benchmarks measure the exact figures.
    assert cer(truth["text"].lower(), result.text.lower()) <= 0.3, result.text


def test_boxes_follow_the_true_characters(classifier, test_data):
    truth = json.loads((test_data / "pages" / "page00_clean.json").read_text(encoding="utf-8"))
    result = run_scan(load_page(test_data / "pages" / "page00_clean.png"), classifier)
    centres = [(c.box.cx, c.box.cy) for c in result.chars]
    hits = 0
    for t in truth["chars"]:
        x, y, w, h = t["box"]
        hits += any(x <= cx < x + w and y <= cy < y + h for cx, cy in centres)
    assert hits >= 0.9 * len(truth["chars"])


def test_progress_is_reported_and_cancel_stops(classifier, test_data):
    page = load_page(test_data / "pages" / "page01_clean.png")
    steps: list[Progress] = []
    result = run_scan(page, classifier, progress=steps.append)
    assert result.text
    stages = [s.stage for s in steps]
    assert stages[0] == "prepare" and "classify" in stages and stages[-1] == "decode"
    assert all(0.0 <= s.fraction <= 1.0 for s in steps)
    with pytest.raises(CancelledError):
        run_scan(page, classifier, cancel=lambda: True)
    gen = scan(page, classifier)
    assert isinstance(next(gen), Progress)
    gen.close()


def test_charset_digits_gives_only_digits(classifier, test_data):
    page = load_page(test_data / "pages" / "page00_clean.png")
    result = run_scan(page, classifier, ScanConfig(charset="digits"))
    assert result.text and all(ch.isdigit() or ch.isspace() for ch in result.text)
    letters = run_scan(page, classifier, ScanConfig(charset="letters", dictionary=False))
    assert all(ch.isalpha() or ch.isspace() for ch in letters.text)


def test_shrunk_page_gives_boxes_in_source_pixels(classifier):
    gen = make_page(GlyphSource.from_sample(), np.random.default_rng(21), n_lines=2, grain=0.0)
    big = cv2.resize(gen.image, None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR)
    small = cv2.resize(big, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    page = PageImage(small, scale=0.5, original_size=(big.shape[1], big.shape[0]))
    result = run_scan(page, classifier)
    _check_result(result, page)
    xs = [c.box.x2 for c in result.chars]
    assert max(xs) > small.shape[1]  # boxes are in the big (source) coordinates
    assert any("reduced" in n for n in result.notes)  # and the user is told about the limit


def _ruled_only(h=600, w=800):
    img = np.full((h, w), 245, np.uint8)
    for y in range(60, h, 40):
        cv2.line(img, (0, y), (w - 1, y), 150, 1)
    cv2.rectangle(img, (100, 100), (300, 250), 60, 2)
    cv2.rectangle(img, (400, 300), (700, 500), 60, 2)
    return img


def _photo_without_paper(h=600, w=800):
    rng = np.random.default_rng(3)
    tex = cv2.resize(rng.normal(120, 30, (h // 20, w // 20)).astype(np.float32), (w, h))
    return np.clip(tex + rng.normal(0, 4, (h, w)), 0, 255).astype(np.uint8)


@pytest.mark.parametrize(
    "img",
    [
        np.full((600, 800), 255, np.uint8),
        np.zeros((600, 800), np.uint8),
        np.random.default_rng(0).integers(0, 256, (600, 800), dtype=np.uint8),
        _ruled_only(),
        _photo_without_paper(),
    ],
    ids=["blank", "black", "noise", "ruled-lines-and-boxes", "photo-without-paper"],
)
def test_pages_without_writing_give_no_confident_garbage(classifier, img):
    result = run_scan(page_from_array(img), classifier)
    assert len(result.chars) <= 4, result.text
    if not result.text:
        assert result.notes  # the user is told why the result is empty


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    hnp.arrays(
        dtype=st.sampled_from([np.uint8, np.uint16, np.float32, np.int32, np.bool_]),
        shape=st.tuples(st.integers(1, 160), st.integers(1, 160)),
        elements=None,
    )
)
def test_random_images_never_crash(classifier, arr):
    try:
        page = page_from_array(arr)
        result = run_scan(page, classifier)
    except ScannerError:
        return  # a refusal a user can read is fine
    _check_result(result, page)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000), st.booleans())
def test_random_generated_pages(classifier, seed, photo):
    rng = np.random.default_rng(seed)
    gen = make_page(GlyphSource.from_sample(), rng, n_lines=2, width=700, photo=photo)
    page = page_from_array(gen.image)
    result = run_scan(page, classifier)
    _check_result(result, page)
    assert result.text  # handwriting is there, so something is read
