#!/usr/bin/env bash
# GPU check: CUDA tests and the QSD-T/L training and inference benchmarks (fp32, bf16,
# integer), at most 8 minutes on one GPU, ending in ONE JSON summary on stdout (and in
# $OUT/gpu_check.json when $OUT is set, with every step's log in $OUT/gpu_check_logs/).
#
#   bash tools/benchmark/gpu_check.sh                  # everything the budget allows
#   bash tools/benchmark/gpu_check.sh --dry-run        # the plan only
#   bash tools/benchmark/gpu_check.sh --batch-sizes 8 --archs qsd_t
#
# Arguments are passed to tools/benchmark/gpu_check.py (its --help lists them; that file
# says what each step runs).  The environment: $MMQSD_VENV (default ./.venv) when it
# imports torch, mmengine, mmpretrain and mmqsd; otherwise tools/misc/install.sh builds it
# (with MMQSD_CUDA=0 unless set: mmcv's CUDA operators take longer to compile than the
# whole budget and the classifiers measured here do not use them; torch itself is the
# CUDA build either way).  A step that fails or times out is recorded, not fatal; the
# script exits 0 whenever it printed the JSON, whose "ok" says whether every step passed.
#
# Knobs: MMQSD_GPU_CHECK_BUDGET_S (total seconds, default 480),
#        MMQSD_GPU_CHECK_INSTALL_TIMEOUT_S (default 300).
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO" || exit 1
BUDGET="${MMQSD_GPU_CHECK_BUDGET_S:-480}"
INSTALL_TIMEOUT="${MMQSD_GPU_CHECK_INSTALL_TIMEOUT_S:-300}"
VENV="${MMQSD_VENV:-$REPO/.venv}"
PY="$VENV/bin/python"
# The repository itself, whatever path an editable install recorded (the tree may have
# been copied to this machine).
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"

log() { printf '[gpu-check %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

if [[ -n "${OUT:-}" ]]; then LOG_DIR="$OUT/gpu_check_logs"; else LOG_DIR="$(mktemp -d)"; fi
mkdir -p "$LOG_DIR"

usable() {
  [[ -x "$PY" ]] && timeout 120 "$PY" -c 'import torch, mmengine, mmpretrain, mmqsd' \
    >/dev/null 2>&1
}

DRY_RUN=0
for arg in "$@"; do [[ "$arg" == --dry-run ]] && DRY_RUN=1; done

SETUP_LOG=""
SETUP_START=$SECONDS
if usable; then
  SETUP=existing
  log "using $PY"
elif (( DRY_RUN )); then
  SETUP=would-install
  log "$PY is missing or cannot import the stack; a real run would install it"
else
  SETUP_LOG="$LOG_DIR/install.log"
  log "installing the environment (tools/misc/install.sh, at most ${INSTALL_TIMEOUT} s)"
  log "install log: $SETUP_LOG"
  if timeout "$INSTALL_TIMEOUT" env MMQSD_CUDA="${MMQSD_CUDA:-0}" MMQSD_VENV="$VENV" \
       bash tools/misc/install.sh >"$SETUP_LOG" 2>&1 && usable; then
    SETUP=installed
  else
    SETUP=failed
    log "installation failed; the steps below will fail too (see $SETUP_LOG)"
  fi
fi
SETUP_SECONDS=$(( SECONDS - SETUP_START ))

# The driver needs only the standard library: any Python 3 runs it, even when the
# project's environment could not be built.
DRIVER=""
for candidate in python3 "$PY"; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import json' 2>/dev/null; then
    DRIVER="$candidate"
    break
  fi
done
if [[ -z "$DRIVER" ]]; then
  printf '{"schema": "mmqsd-gpu-check/1", "ok": false, "setup": {"status": "%s"}, ' "$SETUP"
  printf '"error": "no Python 3 interpreter found (python3 on PATH or %s)"}\n' "$PY"
  exit 1
fi

REMAINING=$(( BUDGET - SECONDS - 15 ))  # 15 s for starting the driver and writing the JSON
(( REMAINING < 1 )) && REMAINING=1
# The driver keeps every step inside REMAINING; the outer timeout is only a safety net.
timeout --kill-after=5 $(( REMAINING + 10 )) "$DRIVER" tools/benchmark/gpu_check.py \
  --python "$PY" --budget-s "$REMAINING" --setup-status "$SETUP" \
  --setup-seconds "$SETUP_SECONDS" --setup-log "$SETUP_LOG" "$@"
