#!/usr/bin/env bash
# Runs a script of tools/ over torchrun, one process per GPU (gloo on a
# machine without a GPU). Used by dist_train.sh and dist_test.sh:
#   bash tools/dist_run.sh SCRIPT NPROC [script arguments]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR and PORT, alike on every node
# but NODE_RANK.
set -euo pipefail
SCRIPT=$1
NPROC=$2
TOOLS=$(dirname "$0")

PYTHONPATH="$TOOLS/..${PYTHONPATH:+:$PYTHONPATH}" \
"${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" \
    --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --master_port="${PORT:-29500}" \
    --nproc_per_node="$NPROC" \
    "$TOOLS/$SCRIPT" "${@:3}" --launcher pytorch
