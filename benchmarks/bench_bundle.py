"""Print the packaged app's size and the cold start of its self-test.

Build the bundle first (in a clean venv: ``pip install . pyinstaller && pyinstaller build.spec``), then:

    python benchmarks/bench_bundle.py [--dist dist/handwriting-scanner] [--runs 5]

Targets (issue "A packaged app"): bundle <= 300 MB on Linux; self-test cold start <= 1 s.
As a baseline it also times ``import tensorflow`` in the current interpreter when TensorFlow is installed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def folder_size(path: Path) -> int:
    """Total size in bytes of the files under ``path``."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def time_command(cmd: list[str], runs: int) -> list[float]:
    """Wall-clock seconds of ``runs`` runs of ``cmd`` (each must exit 0)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - t0)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dist", type=Path, default=ROOT / "dist" / "handwriting-scanner")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    exe = args.dist / ("handwriting-scanner-cli.exe" if os.name == "nt" else "handwriting-scanner-cli")
    if not exe.exists():
        print(f"no bundle at {args.dist}: build it with `pyinstaller build.spec` first", file=sys.stderr)
        return 2

    size = folder_size(args.dist)
    big = sorted(((p.stat().st_size, p) for p in args.dist.rglob("*") if p.is_file()), reverse=True)[:8]
    print(f"bundle size: {size / 1e6:.1f} MB  (target <= 300 MB; a TensorFlow bundle is ~1200 MB: ratio {size / 1.2e9:.2f})")
    for sz, p in big:
        print(f"  {sz / 1e6:7.1f} MB  {p.relative_to(args.dist)}")

    times = time_command([str(exe), "--self-test"], args.runs)
    print(
        f"self-test cold start: median {statistics.median(times):.2f} s, "
        f"min {min(times):.2f} s over {args.runs} runs (target <= 1 s)"
    )
    times = time_command([str(exe), "--version"], args.runs)
    print(f"--version: median {statistics.median(times):.2f} s")

    try:
        import importlib.util

        if importlib.util.find_spec("tensorflow") is not None:
            tf_times = time_command([sys.executable, "-c", "import tensorflow"], 2)
            print(f"baseline `import tensorflow` alone: {min(tf_times):.2f} s")
    except (subprocess.CalledProcessError, ImportError) as exc:
        print(f"baseline skipped: {exc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
