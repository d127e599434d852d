#!/usr/bin/env bash
# Idempotent installer for mmqsd's stack into ./.venv (see docs/install.md).
#
# Stack: Python 3.11, torch 2.14.1 + torchvision 0.29.1, mmengine 0.10.7,
# mmcv 2.1.0 built from source WITH compiled ops, mmdet 3.3.0,
# mmsegmentation 1.2.2, mmpretrain 1.2.0, numpy 2.x, setuptools 80.9.0.
#
# mmcv 2.1.0 is source-only on the index; its setup.py hard-codes -std=c++17
# while torch 2.14 headers need C++20, so we patch that one flag and build
# with --no-build-isolation.  The built wheel is cached OUTSIDE the repo, keyed
# by torch version and CPU/CUDA flavour (pip's own wheel cache would silently
# reuse a wheel built against another torch), so a re-install takes minutes.
#
# Environment knobs:
#   MMQSD_PYTHON      interpreter used to create the venv (default: python3.11)
#   MMQSD_VENV        venv path (default: <repo>/.venv)
#   MMQSD_CACHE       wheel cache (default: ~/.cache/mmqsd)
#   MMQSD_CUDA=0|1    force a CPU-only or CUDA mmcv build (default: CUDA if
#                     nvcc and a GPU are visible)
#   MAX_JOBS          parallel compile jobs for mmcv (default: nproc)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${MMQSD_VENV:-$REPO/.venv}"
PYTHON_BOOT="${MMQSD_PYTHON:-python3.11}"
CACHE="${MMQSD_CACHE:-$HOME/.cache/mmqsd}"
TORCH_VERSION=2.14.1
TORCHVISION_VERSION=0.29.1
MMCV_VERSION=2.1.0
STAMP="$VENV/.mmqsd-install-stamp"
STAMP_VALUE="torch=$TORCH_VERSION;mmcv=$MMCV_VERSION;cuda=${MMQSD_CUDA:-auto};$(sha256sum "$REPO"/requirements/*.txt "$REPO/setup.py" "$0" | sha256sum | cut -c1-16)"

log() { printf '[mmqsd-install %(%H:%M:%S)T] %s\n' -1 "$*"; }

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$STAMP_VALUE" ]] && \
   "$VENV/bin/python" -c "import mmcv._ext, mmdet, mmseg, mmpretrain, mmqsd" 2>/dev/null; then
  log "environment in $VENV is up to date"
  exit 0
fi

if ! command -v "$PYTHON_BOOT" >/dev/null; then
  echo "error: $PYTHON_BOOT not found; set MMQSD_PYTHON to a Python 3.11 interpreter" >&2
  exit 1
fi

if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating virtual environment $VENV"
  "$PYTHON_BOOT" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)

log "installing build tools (setuptools 80.9.0: new enough for torch 2.14, still ships pkg_resources for mmengine)"
"${PIP[@]}" install -q --upgrade "pip>=24" "setuptools==80.9.0" wheel ninja

log "installing torch $TORCH_VERSION + torchvision $TORCHVISION_VERSION"
"${PIP[@]}" install -q "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION" "numpy>=2,<3"

# ---- mmcv with compiled ops, cached per torch version and flavour -------------
want_cuda() {
  case "${MMQSD_CUDA:-auto}" in
    1) return 0 ;;
    0) return 1 ;;
  esac
  command -v nvcc >/dev/null && "$PY" -c "import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)"
}
if want_cuda; then FLAVOUR="cuda$("$PY" -c 'import torch; print(torch.version.cuda)')"; else FLAVOUR=cpu; fi
WHEEL_DIR="$CACHE/wheels/torch-$TORCH_VERSION-$FLAVOUR"

mmcv_ok() {
  "$PY" - <<PYEOF 2>/dev/null
import importlib.metadata as md, mmcv, mmcv._ext  # noqa
assert md.version('mmcv') == '$MMCV_VERSION'
PYEOF
}

if mmcv_ok && [[ -f "$VENV/.mmcv-flavour" && "$(cat "$VENV/.mmcv-flavour")" == "torch-$TORCH_VERSION-$FLAVOUR" ]]; then
  log "mmcv $MMCV_VERSION with ops already installed ($FLAVOUR)"
else
  mkdir -p "$WHEEL_DIR"
  WHEEL=$(ls "$WHEEL_DIR"/mmcv-$MMCV_VERSION-*.whl 2>/dev/null | head -n1 || true)
  if [[ -z "$WHEEL" ]]; then
    log "building mmcv $MMCV_VERSION with compiled ops ($FLAVOUR); this takes ~10 min on 2 cores"
    BUILD=$(mktemp -d)
    trap 'rm -rf "$BUILD"' EXIT
    "${PIP[@]}" download -q --no-deps --no-build-isolation --no-binary=:all: "mmcv==$MMCV_VERSION" -d "$BUILD"
    tar -xzf "$BUILD"/mmcv-$MMCV_VERSION.tar.gz -C "$BUILD"
    SRC="$BUILD/mmcv-$MMCV_VERSION"
    # torch >= 2.14 headers require C++20 (error: "C++20 or later compatible compiler is required").
    sed -i 's/-std=c++17/-std=c++20/g' "$SRC/setup.py"
    grep -q -- '-std=c++20' "$SRC/setup.py" || { echo "error: could not patch mmcv's C++ standard flag" >&2; exit 1; }
    # mmcv's own requirement list is not needed at build time.
    export MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}"
    if [[ "$FLAVOUR" == cpu ]]; then export FORCE_CUDA=0; else export FORCE_CUDA=1; fi
    (cd "$SRC" && "${PIP[@]}" wheel --no-build-isolation --no-deps --no-cache-dir -w "$BUILD/dist" . 2>&1 \
       | grep --line-buffered -E "Building|Created|error|Error" || true)
    BUILT=$(ls "$BUILD"/dist/mmcv-$MMCV_VERSION-*.whl 2>/dev/null | head -n1 || true)
    [[ -n "$BUILT" ]] || { echo "error: mmcv build failed (see output above)" >&2; exit 1; }
    # Atomic publish into the cache: copy then rename.
    cp "$BUILT" "$WHEEL_DIR/.partial.whl"
    mv "$WHEEL_DIR/.partial.whl" "$WHEEL_DIR/$(basename "$BUILT")"
    WHEEL="$WHEEL_DIR/$(basename "$BUILT")"
    log "cached $WHEEL"
  else
    log "using cached mmcv wheel $WHEEL"
  fi
  "${PIP[@]}" install -q --no-deps --force-reinstall --no-cache-dir "$WHEEL"
  echo "torch-$TORCH_VERSION-$FLAVOUR" > "$VENV/.mmcv-flavour"
fi

log "installing mmengine, mmdet, mmsegmentation, mmpretrain and test tools"
"${PIP[@]}" install -q -r "$REPO/requirements/runtime.txt" -r "$REPO/requirements/tests.txt"
# openmim without its declared dependencies (requirements/mim.txt says why).
"${PIP[@]}" install -q --no-deps -r "$REPO/requirements/mim.txt"
"${PIP[@]}" install -q -r "$REPO/requirements/deploy.txt"  # the [deploy] extra: onnx, onnxruntime
# mmcv's runtime deps (addict, yapf, opencv...) without touching the compiled wheel.
"${PIP[@]}" install -q "mmcv==$MMCV_VERSION" --no-deps --no-index --find-links "$WHEEL_DIR" 2>/dev/null || true

log "installing mmqsd (editable)"
"${PIP[@]}" install -q --no-deps --no-build-isolation -e "$REPO"

"$PY" - <<'PYEOF'
import importlib.metadata as md
import mmcv._ext  # noqa: F401  compiled ops present
import cv2, mim, torch, mmdet, mmseg, mmpretrain, mmqsd  # noqa: F401
assert int(cv2.__version__.split('.')[0]) < 5, f'OpenCV {cv2.__version__}: mmseg needs 4.x'
print('[mmqsd-install] ok: ' + ', '.join(f'{p} {md.version(p)}' for p in
      ['torch', 'torchvision', 'mmengine', 'mmcv', 'mmdet', 'mmsegmentation', 'mmpretrain', 'numpy',
       'opencv-python', 'openmim']))
PYEOF
echo "$STAMP_VALUE" > "$STAMP"
