"""Print the packaged app's size and start-up: the figures of the "packaged app" issue.

Build the bundle first (``.ci/run package`` does all of it): a clean venv, the slim OpenCV wheel from
``packaging/build_slim_opencv.sh``, then ``pip install ".[package]"`` and ``pyinstaller build.spec``. Then:

    python benchmarks/bench_bundle.py [--dist dist/handwriting-scanner] [--runs 5] [--archive]

It prints the bundle's size (total, per component, largest files); which OpenCV and HEIC decoder it carries
(the slim OpenCV build or the stock wheel; pi-heif, or pillow-heif with its HEVC encoder); the self-test's
start-to-exit time in fresh processes (the first run, usually from a cold file cache, and the median);
``--version``; and on Linux the time from launching the windowed executable to its model being loaded (seen
in ``/proc/PID/maps``). ``--archive`` also builds the .tar.gz users download and prints its size. Targets:
bundle <= 300 MB on Linux, self-test <= 1 s. As a baseline it prints the installed size of TensorFlow and the
time of ``import tensorflow`` when the interpreter running this script has TensorFlow.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MB = 1e6


def folder_size(path: Path) -> int:
    """Total size in bytes of the files under ``path`` (links not followed)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def component_sizes(dist: Path) -> Counter[str]:
    """Bytes per top-level entry of the bundle's ``_internal`` folder (a package, or one library)."""
    internal = dist / "_internal"
    sizes: Counter[str] = Counter()
    for p in internal.rglob("*"):
        if p.is_file() and not p.is_symlink():
            sizes[p.relative_to(internal).parts[0]] += p.stat().st_size
    return sizes


def bundle_flavour(dist: Path) -> list[str]:
    """Lines saying which OpenCV and HEIC decoder the bundle carries (the two biggest avoidable weights)."""
    internal = dist / "_internal"
    cv2_libs = sorted((internal / "cv2").glob("cv2*")) if (internal / "cv2").is_dir() else []
    cv2_size = sum(p.stat().st_size for p in cv2_libs if p.is_file())
    stock_libs = internal / "opencv_python_headless.libs"
    if stock_libs.is_dir():
        extra = folder_size(stock_libs)
        cv = f"stock opencv-python-headless wheel (cv2 {cv2_size / MB:.0f} MB + {extra / MB:.0f} MB of"
        cv += " FFmpeg, OpenBLAS...): build packaging/build_slim_opencv.sh and install it first"
    else:
        cv = f"slim build (cv2 {cv2_size / MB:.1f} MB, no libraries of its own)"
    # The Python code sits in the PYZ archive; the extension module and its libraries are files.
    if any(internal.glob("_pi_heif*")):
        heif = f"pi-heif, decode only ({folder_size(internal / 'pi_heif.libs') / MB:.1f} MB of libraries)"
    elif any(internal.glob("_pillow_heif*")):
        heif = f"pillow-heif with its HEVC encoder ({folder_size(internal / 'pillow_heif.libs') / MB:.0f} MB)"
    else:
        heif = "none (HEIC photos cannot be opened)"
    return [f"OpenCV: {cv}", f"HEIC: {heif}"]


def time_command(cmd: list[str], runs: int, env: dict[str, str]) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds (user + system; Unix only) of ``runs`` fresh runs of ``cmd``.

    Each run must exit 0. CPU time hardly depends on what else the machine is doing, wall time does.
    """
    try:
        import resource
    except ImportError:  # Windows
        resource = None
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN) if resource else None
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        walls.append(time.perf_counter() - t0)
        if resource and before:
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls, cpus


def gui_model_loaded(exe: Path, env: dict[str, str], timeout: float = 30.0) -> float | None:
    """Seconds from launching the window until onnxruntime is mapped into it (Linux only), else None.

    The window loads the model right after its first paint, so this is "window shown and ready to draw".
    """
    if not sys.platform.startswith("linux"):
        return None
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(exe)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        maps = Path(f"/proc/{proc.pid}/maps")
        while time.perf_counter() - t0 < timeout and proc.poll() is None:
            if "onnxruntime_pybind11_state" in maps.read_text(errors="replace"):
                return time.perf_counter() - t0
            time.sleep(0.01)
        return None
    finally:
        proc.kill()
        proc.wait()


def tensorflow_baseline(env: dict[str, str]) -> None:
    """Print TensorFlow's installed size and import time, if this interpreter has it."""
    spec = importlib.util.find_spec("tensorflow")
    if spec is None or not spec.submodule_search_locations:
        print("baseline: TensorFlow is not installed in this interpreter (run with .venv/bin/python)")
        return
    tf_dir = Path(next(iter(spec.submodule_search_locations)))
    size = folder_size(tf_dir) + sum(folder_size(p) for p in tf_dir.parent.glob("tensorflow*.libs"))
    print(f"baseline: TensorFlow alone is {size / MB:.0f} MB installed ({tf_dir})")
    tf_times, _ = time_command([sys.executable, "-c", "import tensorflow"], 2, env)
    print(f"baseline: `import tensorflow` alone takes {min(tf_times):.2f} s")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dist", type=Path, default=ROOT / "dist" / "handwriting-scanner")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--archive", action="store_true", help="also build and measure the .tar.gz")
    args = parser.parse_args()

    suffix = ".exe" if os.name == "nt" else ""
    cli = args.dist / f"handwriting-scanner-cli{suffix}"
    gui = args.dist / f"handwriting-scanner{suffix}"
    if not cli.exists():
        print(f"no bundle at {args.dist}: build it with `pyinstaller build.spec` first", file=sys.stderr)
        return 2

    size = folder_size(args.dist)
    print(f"bundle: {args.dist}")
    print(f"bundle size: {size / MB:.1f} MB (target <= 300 MB; a TensorFlow bundle is about 1200 MB)")
    for line in bundle_flavour(args.dist):
        print(line)
    print("largest components (_internal/...):")
    for name, sz in component_sizes(args.dist).most_common(10):
        print(f"  {sz / MB:7.1f} MB  {name}")
    files = [p for p in args.dist.rglob("*") if p.is_file() and not p.is_symlink()]  # links: see folder_size
    big = sorted(((p.stat().st_size, p) for p in files), reverse=True)[:10]
    print("largest files:")
    for sz, p in big:
        print(f"  {sz / MB:7.1f} MB  {p.relative_to(args.dist)}")

    with tempfile.TemporaryDirectory() as tmp:
        # A throw-away settings folder: the window must not read or write the user's settings.
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=tmp, HOME=tmp)
        if hasattr(os, "getloadavg"):
            print(f"load average before timing: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        times, cpus = time_command([str(cli), "--self-test"], args.runs, env)
        print(
            f"self-test start to exit: first run {times[0]:.2f} s, median {statistics.median(times):.2f} s, "
            f"min {min(times):.2f} s over {args.runs} fresh processes (target <= 1 s)"
        )
        if cpus:
            print(f"self-test CPU time (user+system): median {statistics.median(cpus):.2f} s")
        times, _ = time_command([str(cli), "--version"], args.runs, env)
        print(f"--version: median {statistics.median(times):.2f} s")
        loaded = [gui_model_loaded(gui, env) for _ in range(min(args.runs, 3))]
        if all(t is not None for t in loaded):
            print(f"window launch to model loaded: median {statistics.median(loaded):.2f} s (offscreen)")
        elif sys.platform.startswith("linux"):
            print("window launch to model loaded: the model was NOT loaded within 30 s", file=sys.stderr)
            return 1

        if args.archive:
            t0 = time.perf_counter()
            base = str(Path(tmp) / args.dist.name)
            archive = shutil.make_archive(base, "gztar", args.dist.parent, args.dist.name)
            print(
                f"archive {Path(archive).name}: {Path(archive).stat().st_size / MB:.1f} MB "
                f"(gzip, {time.perf_counter() - t0:.0f} s to build)"
            )

    tensorflow_baseline(dict(os.environ))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
