#!/usr/bin/env bash
# torchrun launcher shared by tools/dist_train.sh and tools/dist_test.sh.
#
#   tools/misc/torchrun.sh NPROC_PER_NODE SCRIPT [SCRIPT ARGS...]
#
# SCRIPT is a file in tools/ (train.py, test.py).  Multi-node jobs set the same
# environment on every node, OpenMMLab style:
#   NNODES (default 1), NODE_RANK (0), MASTER_ADDR (127.0.0.1), PORT (29500).
# PYTHON selects the interpreter (default: $MMQSD_VENV or the repository's .venv
# if present, else python).
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: $0 NPROC_PER_NODE SCRIPT [ARGS...]" >&2
  exit 2
fi
TOOLS="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO="$(dirname "$TOOLS")"
if [[ -z "${PYTHON:-}" ]]; then
  PYTHON="${MMQSD_VENV:-$REPO/.venv}/bin/python"
  [[ -x "$PYTHON" ]] || PYTHON=python
fi
NPROC=$1
SCRIPT=$2
shift 2
exec "$PYTHON" -m torch.distributed.run \
  --nnodes="${NNODES:-1}" \
  --node_rank="${NODE_RANK:-0}" \
  --master_addr="${MASTER_ADDR:-127.0.0.1}" \
  --master_port="${PORT:-29500}" \
  --nproc_per_node="$NPROC" \
  "$TOOLS/$SCRIPT" "$@" --launcher pytorch
