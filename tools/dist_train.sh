#!/usr/bin/env bash
# Distributed training over torchrun: one process per GPU (or, on a machine
# without a GPU, per CPU worker with the gloo backend).
#   bash tools/dist_train.sh CONFIG NPROC [tools/train.py arguments]
# Multi-node: run it on every node with NNODES, NODE_RANK, MASTER_ADDR and
# PORT set alike (NODE_RANK differs).
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: bash $0 CONFIG NPROC [train.py arguments]" >&2
    exit 2
fi
CONFIG=$1
NPROC=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
PYTHON=${PYTHON:-python}

PYTHONPATH="$(dirname "$0")/..${PYTHONPATH:+:$PYTHONPATH}" \
"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --master_port="$PORT" \
    --nproc_per_node="$NPROC" \
    "$(dirname "$0")/train.py" "$CONFIG" --launcher pytorch "${@:3}"
