#!/usr/bin/env bash
# Distributed training on one or more nodes with torchrun:
#   tools/dist_train.sh CONFIG GPUS [tools/train.py args...]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR and PORT (see tools/misc/torchrun.sh).
# On CPU-only machines add --cfg-options env_cfg.dist_cfg.backend=gloo.
# Commands for several machines, batch size and LR scaling: docs/distributed.md.
if [[ $# -lt 2 ]]; then
  echo "usage: $0 CONFIG GPUS [tools/train.py args...]" >&2
  exit 2
fi
exec "$(dirname "${BASH_SOURCE[0]}")/misc/torchrun.sh" "$2" train.py "$1" "${@:3}"
