"""Shared fixtures. Tests never download anything and never need ../shared."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI replays the same property-test examples on every run (a red CI must be reproducible);
# locally each run explores new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# Qt must never try to open a real display in tests.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO_ROOT = Path(__file__).resolve().parent.parent
TEST_DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def test_data() -> Path:
    """Folder of small committed samples."""
    return TEST_DATA


@pytest.fixture(scope="session")
def classifier():
    """The real bundled character model (loaded once per session)."""
    from scanner_app.core.classifier import CharClassifier

    return CharClassifier.load()


def damage_tiff_page(path: Path, page: int) -> None:
    """Overwrite one page's image data in a TIFF with junk; the file's page directory stays intact."""
    from PIL import Image

    with Image.open(path) as img:
        img.seek(page)
        offsets, counts = img.tag_v2[273], img.tag_v2[279]
    data = bytearray(path.read_bytes())
    for offset, count in zip(offsets, counts, strict=True):
        data[offset : offset + count] = b"\xff" * count
    path.write_bytes(bytes(data))
