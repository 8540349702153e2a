"""Write small IDX files (the format of MNIST and EMNIST) for the loader tests."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np


def write_idx(path: Path, arr: np.ndarray) -> None:
    """Write ``arr`` (unsigned bytes, any number of dimensions) as a gzip-compressed IDX file."""
    header = struct.pack(">HBB", 0, 0x08, arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + np.ascontiguousarray(arr, np.uint8).tobytes())
