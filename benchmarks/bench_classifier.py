"""Print the runtime model's size and latency (single crop and batches) on this CPU.

    python benchmarks/bench_classifier.py [--model assets/model] [--repeat 300]

Loads the model through ``scanner_app.core.classifier.CharClassifier`` (onnxruntime, the same
session options as the app) and times ``predict_proba`` on committed real crops.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scanner_app.core.classifier import CharClassifier  # noqa: E402


def _time(fn, repeat: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(ROOT / "assets" / "model"))
    ap.add_argument("--repeat", type=int, default=300)
    a = ap.parse_args()

    t = time.perf_counter()
    clf = CharClassifier.load(Path(a.model))
    load_ms = (time.perf_counter() - t) * 1e3
    crops = np.load(ROOT / "tests" / "data" / "sample_crops.npz")["x"].astype(np.float32)[..., None] / 255.0
    onnx = Path(a.model) / "model.onnx"
    cpu = platform.processor() or platform.machine()
    print(f"cpu: {cpu}, {os.cpu_count()} cores; python {platform.python_version()}")
    print(f"model: {onnx} {onnx.stat().st_size / 1e6:.2f} MB, {clf.card.get('parameters', '?')} parameters")
    print(f"load (card checks + onnxruntime session): {load_ms:.1f} ms")
    single = _time(lambda: clf.predict_proba(crops[:1]), a.repeat)
    print(
        f"single crop: median {statistics.median(single) * 1e3:.3f} ms, "
        f"p95 {np.percentile(single, 95) * 1e3:.3f} ms (n={a.repeat})"
    )
    for n in (32, 256):
        batch = np.resize(crops, (n, 28, 28, 1)).astype(np.float32)
        ts = _time(lambda b=batch: clf.predict_proba(b), max(10, a.repeat // 10))
        med = statistics.median(ts)
        print(f"batch {n}: median {med * 1e3:.2f} ms ({med / n * 1e3:.3f} ms per crop)")


if __name__ == "__main__":
    main()
