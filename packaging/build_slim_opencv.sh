#!/usr/bin/env bash
# Build a slim opencv-python-headless wheel for the packaged app: only the modules the app uses (core, imgproc,
# imgcodecs with PNG and JPEG, and the Python bindings), without FFmpeg, LAPACK/OpenBLAS, protobuf, OpenCL, IPP,
# TIFF/WebP/JPEG 2000/OpenEXR/AVIF. The stock wheel's cv2 and the libraries it links to are about 159 MB of the
# Linux bundle; this one is a small fraction of that. The development install (`pip install -e .`) keeps the
# stock wheel; only the packaging environment installs this one, before `pip install ".[package]"`.
#
#   packaging/build_slim_opencv.sh [PYTHON]     # PYTHON: the interpreter of the packaging venv (default python3)
#
# The last line printed is the wheel's path. Wheels are cached in .cache/slim-opencv/<key>/ (git-ignored; the key
# covers the CMake options, RECIPE, the OpenCV version, the Python version and the platform), so a second run is
# instant. A failed build keeps its source, build folder and build venv there and resumes when run again.
# Environment: OPENCV_VERSION (default: the version pinned below), SLIM_OPENCV_CACHE (cache folder),
# SLIM_OPENCV_JOBS (parallel compile jobs, default 2). The compile runs under `nice -n 19` where `nice` exists.
# Needs a C++ compiler and CMake >= 3.13 (installed from PyPI if the system has none), and network access to PyPI
# only: every OpenCV option that would download at configure time (IPP, KleidiCV, FFmpeg on Windows) is off.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${1:-${PYTHON:-python3}}
# The same version as the stock wheel the app is developed and tested with (bump both together).
VERSION=${OPENCV_VERSION:-5.0.0.93}
JOBS=${SLIM_OPENCV_JOBS:-2}
CACHE=${SLIM_OPENCV_CACHE:-$ROOT/.cache/slim-opencv}

# CMake options on top of opencv-python's own (setup.py: static libs, limited-API bindings, no apps/tests/docs).
CMAKE_OPTS=(
  -DBUILD_LIST=core,imgproc,imgcodecs,python3
  -DPYTHON3_LIMITED_API=ON
  # Video, cameras, linear algebra, DNN helpers, GPU, Intel/ARM accelerator libraries (IPP and KleidiCV are
  # downloaded at configure time: off, so the build needs no network and gives the same code everywhere).
  -DWITH_FFMPEG=OFF -DWITH_GSTREAMER=OFF -DWITH_V4L=OFF -DWITH_1394=OFF -DWITH_MSMF=OFF -DWITH_DSHOW=OFF
  -DWITH_AVFOUNDATION=OFF -DWITH_OBSENSOR=OFF -DWITH_LAPACK=OFF -DWITH_EIGEN=OFF -DWITH_PROTOBUF=OFF
  -DWITH_FLATBUFFERS=OFF -DWITH_OPENCL=OFF -DWITH_VA=OFF -DWITH_VA_INTEL=OFF -DWITH_OPENVINO=OFF
  -DWITH_IPP=OFF -DWITH_KLEIDICV=OFF -DWITH_FASTCV=OFF -DWITH_ITT=OFF -DWITH_TBB=OFF -DWITH_QUIRC=OFF
  -DWITH_ADE=OFF
  # Image files: the app reads files with Pillow; tests and benchmarks write PNG and JPEG through cv2.
  -DWITH_TIFF=OFF -DWITH_WEBP=OFF -DWITH_OPENJPEG=OFF -DWITH_JASPER=OFF -DWITH_OPENEXR=OFF -DBUILD_OPENEXR=OFF
  -DWITH_AVIF=OFF -DWITH_JPEGXL=OFF -DWITH_GDAL=OFF -DWITH_GDCM=OFF -DWITH_SPNG=OFF
  # PNG, JPEG and zlib from OpenCV's own sources, linked in statically: no system libraries to bundle.
  -DWITH_PNG=ON -DWITH_JPEG=ON -DBUILD_PNG=ON -DBUILD_JPEG=ON -DBUILD_ZLIB=ON
  -DBUILD_JAVA=OFF -DBUILD_opencv_java=OFF -DBUILD_TESTS=OFF -DBUILD_PERF_TESTS=OFF -DBUILD_EXAMPLES=OFF
)
case "$(uname -s)" in
  Linux*) CMAKE_OPTS+=("-DCMAKE_MODULE_LINKER_FLAGS=-s" "-DCMAKE_SHARED_LINKER_FLAGS=-s") ;;  # no symbols
esac

# Bump when the steps below change (the cache key covers the options, the version, this and the platform).
RECIPE=2

tags=$("$PY" -c 'import sys, sysconfig; print(f"cp{sys.version_info[0]}{sys.version_info[1]}-{sysconfig.get_platform()}")')
key=$(
  printf '%s\n' "${CMAKE_OPTS[@]}" "$VERSION" "$tags" "$RECIPE" \
    | "$PY" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest()[:12])'
)
out="$CACHE/$VERSION-$tags-$key"
if compgen -G "$out/opencv_python_headless-*.whl" >/dev/null; then
  echo "slim OpenCV: cached" >&2
  ls "$out"/opencv_python_headless-*.whl
  exit 0
fi

# The source is unpacked into the cache and built in place, so an interrupted or failed build resumes from
# CMake's build folder instead of compiling everything again.
src="$out/src"
mkdir -p "$out"
log="$out/build.log"
if [ ! -f "$src/setup.py" ]; then
  echo "slim OpenCV: fetching the opencv-python-headless $VERSION source from PyPI" >&2
  rm -rf "$out/sdist" "$src"
  "$PY" -m pip download -q --no-deps --no-binary opencv-python-headless \
    "opencv-python-headless==$VERSION" -d "$out/sdist" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
  "$PY" - "$out/sdist" "$src" <<'PYEOF'
import shutil, sys, tarfile
from pathlib import Path
sdist, dest = Path(sys.argv[1]), Path(sys.argv[2])
archive = next(sdist.glob("opencv_python_headless-*.tar.gz"))
with tarfile.open(archive) as tar:
    tar.extractall(sdist, filter="data")
shutil.move(str(next(p for p in sdist.iterdir() if p.is_dir())), dest)
PYEOF
  rm -rf "$out/sdist"
  # OpenCV 5.0's typing-stub generator assumes modules we leave out (it refines Feature2D, solvePnP...) and
  # gives up without them, so the stubs (cv2/typing/, py.typed) are missing and opencv-python's setup.py refuses
  # to package. They serve editors and type checkers only (the app never imports cv2.typing): package without.
  "$PY" - "$src/setup.py" <<'PYEOF'
import sys
from pathlib import Path
setup = Path(sys.argv[1])
text = setup.read_text(encoding="utf-8")
for old, new in [
    ('[ r"python/cv2/py.typed" ] if', "[] if"),
    ('rearrange_cmake_output_data["cv2.typing"] = ', "_typing_stubs_left_out = "),
]:
    if old not in text:
        sys.exit(f"slim OpenCV: setup.py changed ({old!r} not found): review build_slim_opencv.sh")
    text = text.replace(old, new, 1)
setup.write_text(text, encoding="utf-8")
PYEOF
fi

# The build runs in its own venv with opencv-python's build requirements (not pip's throw-away isolated one), so
# the paths CMake caches (numpy's headers) are still valid when a failed build is resumed.
benv="$out/buildenv"
bpy="$benv/bin/python"
[ -x "$bpy" ] || bpy="$benv/Scripts/python.exe"  # Windows
if [ ! -x "$bpy" ]; then
  "$PY" -m venv "$benv"
  bpy="$benv/bin/python"
  [ -x "$bpy" ] || bpy="$benv/Scripts/python.exe"
  "$bpy" - "$src/pyproject.toml" "$out/build-requirements.txt" <<'PYEOF'
import shutil, sys, tomllib
requires = tomllib.load(open(sys.argv[1], "rb"))["build-system"]["requires"]
if shutil.which("cmake") is None:
    requires.append("cmake>=3.13")  # what opencv-python's backend would add
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(requires) + "\n")
PYEOF
  "$bpy" -m pip install -q -r "$out/build-requirements.txt" >>"$log" 2>&1 || { tail -n 20 "$log" >&2; exit 1; }
fi
numpy_inc=$("$bpy" -c 'import numpy; print(numpy.get_include())')

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
NICE=()
if command -v nice >/dev/null; then NICE=(nice -n 19); fi  # a model may be training on the same cores
echo "slim OpenCV: building opencv-python-headless $VERSION for $tags with $JOBS jobs (log: $log)" >&2
start=$(date +%s)
export ENABLE_HEADLESS=1 ENABLE_CONTRIB=0 CMAKE_ARGS="${CMAKE_OPTS[*]} -DPYTHON3_NUMPY_INCLUDE_DIRS=$numpy_inc"
export CMAKE_BUILD_PARALLEL_LEVEL=$JOBS MAKEFLAGS=-j$JOBS
export OPENCV_PYTHON_SKIP_GIT_COMMANDS=1 PIP_DISABLE_PIP_VERSION_CHECK=1
if ! "${NICE[@]}" "$bpy" -m pip wheel --no-deps --no-build-isolation --no-cache-dir -v "$src" -w "$work" \
  >>"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "slim OpenCV: the build failed (full log: $log; run again to resume)" >&2
  exit 1
fi
mv "$work"/opencv_python_headless-*.whl "$out/"
rm -rf "$src" "$benv"  # the objects (hundreds of MB) and the build venv: the wheel is what is kept
echo "slim OpenCV: built in $(($(date +%s) - start)) s" >&2
ls "$out"/opencv_python_headless-*.whl
