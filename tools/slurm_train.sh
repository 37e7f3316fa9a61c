#!/usr/bin/env bash
# Training on a SLURM cluster, one task per GPU:
#   [GPUS=8 GPUS_PER_NODE=8 CPUS_PER_TASK=5] bash tools/slurm_train.sh \
#       PARTITION JOB_NAME CONFIG WORK_DIR [tools/train.py arguments]
# srun ends every task when one fails (--kill-on-bad-exit) and restarts
# none. A job started again (submitted anew, or requeued: sbatch --requeue,
# scontrol requeue) continues where it stopped when given --resume without
# a path: each start resumes from the latest checkpoint in WORK_DIR, the
# first one finds none and starts afresh.
set -euo pipefail
if [ $# -lt 4 ]; then
    echo "usage: bash $0 PARTITION JOB_NAME CONFIG WORK_DIR [train.py args]" >&2
    exit 2
fi
exec bash "$(dirname "$0")/slurm_run.sh" "$1" "$2" train.py "$3" \
    --work-dir "$4" "${@:5}"
