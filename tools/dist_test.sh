#!/usr/bin/env bash
# Distributed evaluation with torchrun:
#   tools/dist_test.sh CONFIG CHECKPOINT GPUS [tools/test.py args...]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR and PORT (see tools/misc/torchrun.sh,
# docs/distributed.md).
if [[ $# -lt 3 ]]; then
  echo "usage: $0 CONFIG CHECKPOINT GPUS [tools/test.py args...]" >&2
  exit 2
fi
exec "$(dirname "${BASH_SOURCE[0]}")/misc/torchrun.sh" "$3" test.py "$1" "$2" "${@:4}"
