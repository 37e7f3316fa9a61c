# Copyright (c) mmista contributors. All rights reserved.
"""Run a search protocol: N searches with different seeds, each found
genotype retrained with M seeds, against K random genotypes of the same
sparsity (optionally of matched size) retrained by the same recipe; then
the mean ± std per method, best-of-N, Welch's t-test, Kendall's tau and a
plot of accuracy against parameters (docs/en/user_guides/
search_protocol.md).

Every run is a ``tools/train.py`` run in its own work dir under
``--work-dir``; finished runs are skipped and interrupted ones resumed, so
running the same command again continues the protocol::

    python tools/analysis_tools/search_protocol.py \\
        configs/ista/onestage_digits.py --searches 4 --retrains 2 \\
        --random 4 --work-dir work_dirs/protocol_digits
"""
import argparse
import os.path as osp
from typing import List, Optional

import mmista  # noqa: F401  (registers mmista's modules)
from mmista.analysis.protocol_runs import LAUNCHERS, Launcher
from mmista.analysis.search_protocol import ProtocolOptions, SearchProtocol
from mmista.cli import reported_errors
from mmista.errors import UserError

TOOLS_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))
REPO_ROOT = osp.dirname(TOOLS_DIR)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='search config')
    parser.add_argument(
        '--eval-config',
        help='the retrain recipe, an evaluation config (network size, '
        'data, schedule); defaults to the shipped one of configs/nets/ that '
        'builds the searched genotypes\' search-space variant (as '
        'tools/genotype_to_config.py picks)')
    parser.add_argument(
        '--searches', type=int, default=3, help='N, searches (seeds 0..N-1)')
    parser.add_argument(
        '--retrains',
        type=int,
        default=2,
        help='M, retrains of every genotype (seeds 0..M-1)')
    parser.add_argument(
        '--random', type=int, default=3, help='K, random genotypes')
    parser.add_argument(
        '--random-seed',
        type=int,
        default=0,
        help='seed of the random genotypes (recorded in '
        'WORK_DIR/random/genotypes.json)')
    parser.add_argument(
        '--match-params',
        type=float,
        help='draw each random genotype again until its parameters are '
        'within this relative distance of a searched genotype\'s (0.1: '
        '±10%%)')
    parser.add_argument(
        '--match-tries',
        type=int,
        default=1000,
        help='draws per random genotype before --match-params gives up')
    parser.add_argument(
        '--work-dir',
        help='folder of all runs and the report; defaults to '
        'work_dirs/search_protocol/<config name>')
    for flag, what in (('--cfg-options', 'every run'),
                       ('--search-cfg-options', 'the searches'),
                       ('--retrain-cfg-options', 'the retrains')):
        parser.add_argument(
            flag,
            nargs='+',
            default=[],
            help=f'key=value overrides for {what}'
            + (' (after --cfg-options)' if flag != '--cfg-options' else ''))
    parser.add_argument(
        '--metric',
        default='accuracy/top1',
        help='validation metric (default: accuracy/top1)')
    parser.add_argument(
        '--keep-going',
        action='store_true',
        help='go on with the other runs after one fails')
    parser.add_argument(
        '--launcher',
        choices=LAUNCHERS,
        default='local',
        help='local: one process after the other; dist: through '
        'tools/dist_train.sh with --gpus processes; slurm: print the '
        'tools/slurm_train.sh commands (run them with --submit)')
    parser.add_argument(
        '--gpus', type=int, default=1, help='processes / GPUs per run')
    parser.add_argument('--partition', help='SLURM partition')
    parser.add_argument(
        '--job-name', default='protocol', help='prefix of SLURM job names')
    parser.add_argument(
        '--submit',
        action='store_true',
        help='slurm: run the commands (each srun waits for its job)')
    parser.add_argument(
        '--dry-run',
        action='store_true',
        help='print the command of every run that is not finished, run '
        'nothing')
    args = parser.parse_args(argv)
    for name, minimum in (('searches', 1), ('retrains', 1), ('random', 0),
                          ('gpus', 1), ('match_tries', 1)):
        if getattr(args, name) < minimum:
            parser.error(f'--{name.replace("_", "-")} must be >= {minimum}')
    if args.match_params is not None and not args.match_params > 0:
        parser.error('--match-params must be > 0 (0.1: ±10%)')
    if args.launcher == 'slurm' and not args.partition:
        parser.error('--launcher slurm needs --partition')
    if args.submit and args.launcher != 'slurm':
        parser.error('--submit goes with --launcher slurm')
    if args.gpus != 1 and args.launcher == 'local':
        parser.error('--gpus goes with --launcher dist or slurm')
    return args


def main() -> None:
    args = parse_args()
    name = osp.splitext(osp.basename(args.config))[0]
    options = ProtocolOptions(
        config=args.config,
        work_dir=args.work_dir or osp.join('work_dirs', 'search_protocol',
                                           name),
        searches=args.searches,
        retrains=args.retrains,
        random=args.random,
        eval_config=args.eval_config,
        random_seed=args.random_seed,
        match_params=args.match_params,
        match_tries=args.match_tries,
        cfg_options=args.cfg_options,
        search_cfg_options=args.search_cfg_options,
        retrain_cfg_options=args.retrain_cfg_options,
        keep_going=args.keep_going,
        metric=args.metric,
        execute=not args.dry_run and (args.launcher != 'slurm'
                                      or args.submit))
    launcher = Launcher(
        args.launcher,
        TOOLS_DIR,
        gpus=args.gpus,
        partition=args.partition,
        job_name=args.job_name)
    with reported_errors():
        result = SearchProtocol(options, launcher, REPO_ROOT).run()
        failures = result['failures']
        if failures:
            stopped = '' if args.keep_going else (
                ' (the protocol stopped there; --keep-going goes on with '
                'the other runs)')
            raise UserError(
                f'{len(failures)} run(s) failed{stopped}: '
                f'{"; ".join(failures)}; the report ({result["report"]}) '
                'covers the finished runs; the same command retries the '
                'others')


if __name__ == '__main__':
    main()
