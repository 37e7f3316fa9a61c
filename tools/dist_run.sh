#!/usr/bin/env bash
# Runs a script of tools/ over torchrun, one process per GPU (gloo on a
# machine without a GPU). Used by dist_train.sh and dist_test.sh:
#   [MAX_RESTARTS=N TORCHRUN_ARGS=...] bash tools/dist_run.sh SCRIPT NPROC \
#       [script arguments]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR and PORT, alike on every node
# but NODE_RANK. MAX_RESTARTS (default 0): how often torchrun restarts all
# processes after one fails (give the script --resume so that each start
# continues from the latest checkpoint). TORCHRUN_ARGS: further torchrun
# options, split at spaces.
set -euo pipefail
SCRIPT=$1
NPROC=$2
TOOLS=$(dirname "$0")

# shellcheck disable=SC2086  # TORCHRUN_ARGS holds several options
PYTHONPATH="$TOOLS/..${PYTHONPATH:+:$PYTHONPATH}" \
"${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" \
    --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --master_port="${PORT:-29500}" \
    --nproc_per_node="$NPROC" \
    --max-restarts="${MAX_RESTARTS:-0}" \
    ${TORCHRUN_ARGS:-} \
    "$TOOLS/$SCRIPT" "${@:3}" --launcher pytorch
