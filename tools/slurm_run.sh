#!/usr/bin/env bash
# Runs a script of tools/ on a SLURM cluster, one task per GPU. Used by
# slurm_train.sh and slurm_test.sh:
#   [GPUS=8 GPUS_PER_NODE=8 CPUS_PER_TASK=5 SRUN_ARGS=...] \
#       bash tools/slurm_run.sh PARTITION JOB_NAME SCRIPT [script arguments]
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
SCRIPT=$3
TOOLS=$(dirname "$0")
GPUS_PER_NODE=${GPUS_PER_NODE:-8}

PYTHONPATH="$TOOLS/..${PYTHONPATH:+:$PYTHONPATH}" \
srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="${GPUS:-8}" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="${CPUS_PER_TASK:-5}" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS:-} \
    "${PYTHON:-python}" -u "$TOOLS/$SCRIPT" "${@:4}" --launcher slurm
