# Copyright (c) mmista contributors. All rights reserved.
"""Summarise the runs of one network trained with several seeds.

For each work dir: its seed, the epoch and value of its last validation
metric, and its wall time (from its log); then the mean ± sample standard
deviation over the runs, the way a searched genotype is evaluated
(docs/en/user_guides/retrain_genotype.md)::

    python tools/analysis_tools/seed_summary.py work_dirs/retrain/seed_*
"""
import argparse

from mmista.analysis.seed_runs import read_seed_run, seed_table
from mmista.cli import reported_errors


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'work_dirs', nargs='+', help='the work dirs, one per seed')
    parser.add_argument(
        '--metric',
        default='accuracy/top1',
        help='validation metric to summarise (default: accuracy/top1)')
    return parser.parse_args()


def main():
    args = parse_args()
    with reported_errors():
        runs = [read_seed_run(path, args.metric) for path in args.work_dirs]
    print('\n'.join(seed_table(runs, args.metric)))


if __name__ == '__main__':
    main()
