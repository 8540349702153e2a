"""Write the committed scan page of the GUI tests: tests/data/gui_page.png and its truth gui_page.txt.

The page is composed by ``tests/pagegen.py`` from committed UNIPEN test-writer trajectories
(``tests/data/strokes_sample.npz``): writers the model never saw. Run from the repository root:

    python -m tests.gui.make_test_page
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from tests.pagegen import GlyphSource, make_page

DATA = Path(__file__).resolve().parent.parent / "data"
TEXT = "HELLO WORLD\nSCAN 2024\nPaper Note"
SEED = 7


def main() -> None:
    """Compose the page and write it with its truth."""
    page = make_page(
        GlyphSource.from_sample(), np.random.default_rng(SEED), TEXT, width=900, cap=44.0, grain=0
    )
    cv2.imwrite(str(DATA / "gui_page.png"), page.image)
    (DATA / "gui_page.txt").write_text(page.text + "\n", encoding="utf-8")
    print(page.image.shape, repr(page.text))


if __name__ == "__main__":
    main()
