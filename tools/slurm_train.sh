#!/usr/bin/env bash
# Training on a Slurm cluster, one task per GPU:
#   tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [tools/train.py args...]
# Environment: GPUS (total, default 8), GPUS_PER_NODE (8), CPUS_PER_TASK (5),
# SRUN_ARGS (extra srun options), PYTHON (interpreter, default: python).
# Needs GPUs (mmengine's slurm launcher); CPU-only clusters: docs/distributed.md#slurm.
set -euo pipefail
if [[ $# -lt 4 ]]; then
  echo "usage: $0 PARTITION JOB_NAME CONFIG WORK_DIR [tools/train.py args...]" >&2
  exit 2
fi
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-$(( GPUS < 8 ? GPUS : 8 ))}
read -r -a EXTRA <<< "${SRUN_ARGS:-}"
set -x
exec srun -p "$1" --job-name="$2" \
  --gres=gpu:"$GPUS_PER_NODE" --ntasks="$GPUS" --ntasks-per-node="$GPUS_PER_NODE" \
  --cpus-per-task="${CPUS_PER_TASK:-5}" --kill-on-bad-exit=1 "${EXTRA[@]}" \
  "${PYTHON:-python}" -u "$(dirname "${BASH_SOURCE[0]}")/train.py" "$3" --work-dir="$4" \
  --launcher=slurm "${@:5}"
