#!/usr/bin/env bash
# Distributed training over torchrun (gloo on a machine without a GPU):
#   bash tools/dist_train.sh CONFIG NPROC [tools/train.py arguments]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR and PORT on every node.
# Elastic restart: MAX_RESTARTS=N restarts every process up to N times after
# one fails; with --resume (no path) each start continues from the latest
# checkpoint (the first start finds none and starts afresh):
#   MAX_RESTARTS=3 bash tools/dist_train.sh CONFIG NPROC --resume
# TORCHRUN_ARGS passes further torchrun options (tools/dist_run.sh).
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: bash $0 CONFIG NPROC [train.py arguments]" >&2
    exit 2
fi
exec bash "$(dirname "$0")/dist_run.sh" train.py "$2" "$1" "${@:3}"
