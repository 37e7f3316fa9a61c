#!/usr/bin/env bash
# Distributed testing over torchrun (gloo on a machine without a GPU):
#   bash tools/dist_test.sh CONFIG CHECKPOINT NPROC [tools/test.py arguments]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR and PORT on every node.
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: bash $0 CONFIG CHECKPOINT NPROC [test.py arguments]" >&2
    exit 2
fi
exec bash "$(dirname "$0")/dist_run.sh" test.py "$3" "$1" "$2" "${@:4}"
