"""Write the HEIC samples of this folder (run once; needs pillow-heif, whose wheels carry an HEVC encoder).

The app itself only decodes HEIC (through pi-heif, which has no encoder), so the tests read these files
instead of writing HEIC themselves:

    python tests/data/heic/make_samples.py

* ``gradient.heic``: the 120 x 80 grey picture of ``tests/unit/test_image_io.py`` (dark block top-left);
* ``sample_page.heic``: the bundled self-test page (``assets/samples/sample_page.png``), quality 80.
"""

from pathlib import Path

import numpy as np
import pillow_heif
from PIL import Image

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]


def main() -> None:
    pillow_heif.register_heif_opener()
    a = np.full((80, 120), 230, np.uint8)
    a[5:25, 5:45] = 20
    Image.fromarray(a).convert("RGB").save(HERE / "gradient.heic", format="HEIF", quality=90)
    page = Image.open(ROOT / "assets" / "samples" / "sample_page.png").convert("RGB")
    page.save(HERE / "sample_page.heic", format="HEIF", quality=80)


if __name__ == "__main__":
    main()
