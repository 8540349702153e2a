"""Choice of compute precision for training (no TensorFlow needed)."""

from __future__ import annotations

import pytest

from model_training.train import resolve_precision

ZEN4 = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni\n"
SKYLAKE = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512bw\n"
SAPPHIRE = "flags\t\t: avx512f amx_bf16 amx_tile amx_int8\n"


def test_auto_picks_bfloat16_only_where_the_cpu_has_it():
    assert resolve_precision("auto", ZEN4) == "mixed_bfloat16"
    assert resolve_precision("auto", SAPPHIRE) == "mixed_bfloat16"
    assert resolve_precision("auto", SKYLAKE) == "float32"
    assert resolve_precision("auto", "") == "float32"  # no /proc/cpuinfo (Windows, macOS)


def test_explicit_precision_wins_and_typos_are_refused():
    assert resolve_precision("float32", ZEN4) == "float32"
    assert resolve_precision("mixed_bfloat16", SKYLAKE) == "mixed_bfloat16"
    with pytest.raises(ValueError, match="mixed_bfloat16"):
        resolve_precision("bf16", ZEN4)
