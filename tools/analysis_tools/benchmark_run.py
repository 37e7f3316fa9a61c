# Copyright (c) mmista contributors. All rights reserved.
"""What a whole one-stage run costs against retraining its genotype.

The one-stage search of ``CONFIG`` runs end to end (search, phase switch,
evaluation training, export) as ``tools/train.py`` would run it; then its
exported genotype is retrained as a plain classifier
(``--retrain-base``, by default the shipped evaluation config of the
genotype's search-space variant) with the same network size, data,
epochs (the search run's total), validation interval and logging interval,
written to ``WORK_DIR/retrain_config.py``. Every run is a fresh process of
this tool, timed from outside (what the user waits for, start-up
included) and from inside (:class:`~mmista.analysis.run_profile.RunProfile`:
iterations per phase, hook methods, validations). The first search (rep 0)
is followed by its retrain; then the order alternates per repetition
(rep 1: retrain, search; rep 2: search, retrain; ...).

The tool prints one JSON object: a row per run, the medians per kind, the
headline ratios ``run_over_retrain`` (whole wall times),
``evaluation_iter_over_retrain`` and ``search_iter_over_retrain`` (median
iteration times) against :data:`~mmista.analysis.run_comparison.TARGETS`
under ``targets``, the per-iteration hook costs and the epoch-boundary
work grouped (recovery, termination, checkpoints, validation, ...) for
both kinds, and ``cifar10_estimate``, the whole-run ratio these imply at
the paper's CIFAR-10 scale. The runs' checkpoints are deleted afterwards
unless ``--keep``.

Example::

    python tools/analysis_tools/benchmark_run.py \\
        configs/ista/onestage_digits.py --repeats 3
"""
import argparse
import glob
import json
import os
import os.path as osp
import platform
import shutil
import subprocess
import sys
import time
from typing import List, Optional

import torch
from mmengine.config import Config, DictAction

import mmista  # noqa: F401  (registers mmista's modules)
from mmista.analysis.run_comparison import INNER_GROUPS, compare_runs, run_row
from mmista.analysis.run_profile import RunProfile
from mmista.cli import (assignments_text, build_runner, check_base,
                        check_train_config, config_text, dataloader_defaults,
                        folder_dataset_problem, load_config, missing_data,
                        pick_base, reported_errors, shipped_bases,
                        uses_train_loop)
from mmista.engine import OneStageSearchLoop
from mmista.engine.search_state import SearchState
from mmista.errors import ConfigError, UserError
from mmista.fileio import atomic_write_text, check_writable
from mmista.structures import get_genotype, read_search_space

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NETS_DIR = osp.join(REPO_ROOT, 'configs', 'nets')
#: What each run writes into its work dir (its profile and epochs).
SUMMARY_FILE = 'run_profile.json'
RETRAIN_CONFIG = 'retrain_config.py'
KINDS = ('search', 'retrain')
#: Lines of a failed run's log shown with the error.
LOG_TAIL = 15
LOADERS = ('train_dataloader', 'val_dataloader')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Time a whole one-stage run against retraining its '
        'genotype with the same data, epochs, validation and logging')
    parser.add_argument('config', help='one-stage search config')
    parser.add_argument(
        '--retrain-base',
        help='evaluation config the genotype is retrained with (network '
        'size, data, epochs and intervals come from the search); defaults '
        'to the shipped one of configs/nets/ that builds the genotype\'s '
        'search-space variant (as tools/genotype_to_config.py picks)')
    parser.add_argument(
        '--repeats',
        type=int,
        default=3,
        help='pairs of runs (a search and a retrain each)')
    parser.add_argument(
        '--work-dir',
        help='folder of the runs, their logs and the retrain config; '
        'defaults to work_dirs/benchmark_run/<config name>')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='override settings of the search config, as key=value pairs '
        '(the retrain takes its size, data, epochs and intervals from the '
        'search)')
    parser.add_argument(
        '--keep',
        action='store_true',
        help='keep the runs\' checkpoints (deleted by default)')
    # one run, in a process of its own (started by the tool itself)
    parser.add_argument('--child', choices=KINDS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error('--repeats must be >= 1')
    return args


def cfg_options_of(values: List[str]) -> dict:
    """``--cfg-options`` key=value strings as mmengine parses them."""
    namespace = argparse.Namespace()
    DictAction(['--cfg-options'], 'cfg_options')(None, namespace, values)
    return namespace.cfg_options


def search_phase(runner) -> str:
    """The phase of a one-stage run's next iteration."""
    fixed = SearchState(runner, 'benchmark_run').is_fixed
    return 'evaluation' if fixed else 'search'


def run_child(args: argparse.Namespace) -> None:
    """Trains one run as tools/train.py does, with a :class:`RunProfile`
    on its runner, and writes the profile into the work dir."""
    cfg = dataloader_defaults(
        load_config(args.config, cfg_options_of(args.cfg_options),
                    args.work_dir))
    cfg.launcher = 'none'
    problem = missing_data(cfg, list(LOADERS)) or folder_dataset_problem(
        cfg, list(LOADERS))
    if problem:
        sys.exit(f'error: {problem}')
    check_train_config(cfg)
    check_writable(cfg.work_dir)
    runner = build_runner(cfg)
    profile = RunProfile(
        runner,
        search_phase if args.child == 'search' else None,
        inner=tuple(INNER_GROUPS.values()))
    runner.train()
    summary = dict(
        profile.summary(),
        kind=args.child,
        epochs=runner.epoch,
        iters_per_epoch=len(runner.train_dataloader),
        fixed_epoch=SearchState(runner, 'benchmark_run').fixed_epoch
        if args.child == 'search' else None)
    atomic_write_text(
        osp.join(cfg.work_dir, SUMMARY_FILE), json.dumps(summary, indent=2))


def check_onestage(cfg: Config, path: str) -> None:
    """Refuses a config whose training loop is not a one-stage search."""
    if not uses_train_loop(cfg, OneStageSearchLoop):
        loop = (cfg.get('train_cfg') or {}).get('type')
        raise ConfigError(
            f'{path} is not a one-stage search (train_cfg.type is {loop!r}, '
            'not OneStageSearchLoop): benchmark_run times a one-stage run '
            'against retraining its genotype; pass a config such as '
            'configs/ista/onestage_digits.py')


class Bench:
    """The runs of one benchmark, in ``root``.

    Args:
        args (argparse.Namespace): The tool's arguments.
        root (str): The folder of the runs.
    """

    def __init__(self, args: argparse.Namespace, root: str):
        self.args = args
        self.root = root
        self.rows: List[dict] = []
        self.genotypes = {}
        self.retrain_config = osp.join(root, RETRAIN_CONFIG)

    def run(self, kind: str, rep: int) -> dict:
        """Runs one search or retrain in a process of its own.

        Returns:
            dict: Its row (:func:`run_row`).

        Raises:
            UserError: The run failed (naming its log).
        """
        work_dir = osp.join(self.root, f'{kind}_{rep}')
        log = osp.join(self.root, f'{kind}_{rep}.log')
        shutil.rmtree(work_dir, ignore_errors=True)  # a fresh run
        config = self.args.config if kind == 'search' else \
            self.retrain_config
        command = [
            sys.executable,
            osp.abspath(__file__), config, '--child', kind, '--work-dir',
            work_dir
        ]
        if kind == 'search' and self.args.cfg_options:
            command += ['--cfg-options', *self.args.cfg_options]
        with open(log, 'w') as out:
            start = time.perf_counter()
            code = subprocess.call(command, stdout=out, stderr=out)
            wall_s = time.perf_counter() - start
        summary_path = osp.join(work_dir, SUMMARY_FILE)
        if code != 0 or not osp.isfile(summary_path):
            with open(log) as text:
                tail = text.read().splitlines()[-LOG_TAIL:]
            print('\n'.join(tail), file=sys.stderr)
            raise UserError(
                f'the {kind} run {rep} failed (exit status {code}): see its '
                f'log {log} (its last lines are above)')
        with open(summary_path) as text:
            row = run_row(kind, rep, wall_s, json.load(text))
        if kind == 'search':
            export = osp.join(work_dir, 'export', 'genotype.json')
            self.genotypes[rep] = export
            row['genotype'] = get_genotype(export).to_dict()
        if not self.args.keep:
            # the checkpoints, and the pointer to the last one
            for path in glob.glob(osp.join(work_dir, '*.pth')) + glob.glob(
                    osp.join(work_dir, 'last_checkpoint')):
                os.remove(path)
        self.rows.append(row)
        return row

    def write_retrain_config(self, search_cfg: Config, first: dict) -> str:
        """Writes the retrain config of the first search's export.

        Returns:
            str: The base config used.
        """
        source = self.genotypes[0]
        variant = read_search_space(source)
        base = self.args.retrain_base
        if base is None:
            if variant is None:
                raise ConfigError(
                    f'{source} records no search-space variant: pass '
                    '--retrain-base')
            base, _ = pick_base(variant, shipped_bases(NETS_DIR))
        elif variant is not None:
            check_base(variant, base, Config.fromfile(base), source, None)
        base_cfg = Config.fromfile(base)
        backbone = search_cfg.model.backbone
        epochs = first['epochs']
        values = {
            key: dict(search_cfg[key].to_dict(), _delete_=True)
            for key in ('train_dataloader', 'val_dataloader',
                        'val_evaluator') if search_cfg.get(key)
        }
        values.update(
            train_cfg=dict(
                max_epochs=epochs,
                val_interval=search_cfg.train_cfg.get('val_interval', 1)),
            default_hooks=dict(
                logger=dict(
                    interval=search_cfg.default_hooks.logger.interval)),
            randomness=dict(search_cfg.get('randomness') or {}))
        scheduler = base_cfg.get('param_scheduler')
        if isinstance(scheduler, dict) and 'T_max' in scheduler:
            values['param_scheduler'] = dict(T_max=epochs)
        text = config_text(
            get_genotype(source).to_json(),
            base,
            self.retrain_config,
            source,
            backbone={
                key: backbone[key]
                for key in ('channels', 'layers') if key in backbone
            },
            writer='tools/analysis_tools/benchmark_run.py')
        text += ('\n# The search run\'s size, data, epochs, validation and '
                 'logging intervals and seed.\n' + assignments_text(values))
        atomic_write_text(self.retrain_config, text)
        return base

    def same_as_first(self) -> List[str]:
        """Warnings for every search that found another genotype or
        switched at another epoch than the first."""
        searches = [row for row in self.rows if row['kind'] == 'search']
        first, warnings = searches[0], []
        for row in searches[1:]:
            for key in ('genotype', 'fixed_epoch', 'epochs'):
                if row[key] != first[key]:
                    warnings.append(
                        f'search {row["rep"]} has another {key} than search '
                        f'0 ({row[key]!r} != {first[key]!r}): the runs are '
                        'not repetitions of one run (seed, deterministic '
                        'settings)')
        return warnings


def benchmark(args: argparse.Namespace) -> dict:
    """Runs every pair and returns the report."""
    name = osp.splitext(osp.basename(args.config))[0]
    root = osp.abspath(args.work_dir or osp.join('work_dirs', 'benchmark_run',
                                                 name))
    search_cfg = load_config(args.config, cfg_options_of(args.cfg_options),
                             root)
    check_onestage(search_cfg, args.config)
    if args.retrain_base is not None and not osp.isfile(args.retrain_base):
        raise ConfigError(
            f'--retrain-base file not found: {args.retrain_base}')
    check_writable(root)
    bench = Bench(args, root)
    first = bench.run('search', 0)
    base = bench.write_retrain_config(search_cfg, first)
    order = [('search', 0)]
    for rep in range(args.repeats):
        kinds = KINDS if rep % 2 == 0 else KINDS[::-1]
        for kind in kinds:
            if (kind, rep) != ('search', 0):
                bench.run(kind, rep)
                order.append((kind, rep))
    report = compare_runs(bench.rows)
    return dict(
        {key: report[key] for key in report if key != 'targets'},
        runs=bench.rows,
        warnings=bench.same_as_first(),
        notes=dict(
            search_iter_over_retrain=(
                'the search phase trains the super-net, other networks '
                'than the retrained one: the like-for-like figure for its '
                'step is ista_over_target_step of '
                'tools/analysis_tools/benchmark.py'),
            wall_s='the subprocess from start to exit (imports, building, '
            'training, export); train_s: runner.train() alone',
            epoch_boundaries='seconds over the whole run (median over the '
            'runs); validation from before_val to after_val, the hook '
            'methods of validation inside it; drawings (the genotype '
            'files and cell drawings each recovery writes) and plots (the '
            'z convergence plot at the end) are taken out of recovery; '
            'checkpoint: CrashSafeCheckpointHook, the '
            'before_save_checkpoint hooks inside it'),
        targets=report['targets'],
        config=dict(
            config=args.config,
            cfg_options=args.cfg_options,
            retrain_base=base,
            retrain_config=bench.retrain_config,
            repeats=args.repeats,
            order=[f'{kind}_{rep}' for kind, rep in order],
            work_dir=root,
            kept_checkpoints=args.keep),
        machine=dict(
            torch=torch.__version__,
            python=platform.python_version(),
            cpu_count=os.cpu_count(),
            omp_num_threads=os.environ.get('OMP_NUM_THREADS')))


def main() -> None:
    args = parse_args()
    with reported_errors():
        if args.child:
            run_child(args)
            return
        report = benchmark(args)
    print(json.dumps(report, indent=2))


if __name__ == '__main__':
    main()
