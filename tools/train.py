# Copyright (c) mmista contributors. All rights reserved.
"""Train (or search) with a config: ``python tools/train.py CONFIG``."""
import argparse
import os
import sys
from typing import Optional

from mmengine.config import Config

import mmista  # noqa: F401  (registers mmista's modules)
from mmista.cli import (add_runner_args, build_runner, check_train_config,
                        choose_resume_checkpoint, dataloader_defaults,
                        divergence_advice, exit_if_missing, finish_distributed,
                        folder_dataset_problem, load_config, missing_data,
                        newest_intact_checkpoint, parse_runner_args,
                        reported_errors, setup_cpu_distributed,
                        verify_checkpoint)
from mmista.cli.data_root import set_data_root
from mmista.cli.latency_here import measure_latency_here
from mmista.fileio import check_writable
from mmista.finite import NonFiniteError


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--data-root',
        help='read the data from this folder: sets data_root in every '
        'dataset of the config that has one (through wrappers such as '
        'KFoldDataset) and prints the keys it set')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or, without a value, from '
        'the newest intact checkpoint in the work directory (skipping, with '
        'a message, any that cannot be read)')
    parser.add_argument(
        '--lr-from-config',
        action='store_true',
        help='with --resume: take the learning rates and the other '
        'optimizer settings from the config (as if the run had used them '
        'from its start) instead of from the checkpoint; everything else '
        'is resumed')
    parser.add_argument(
        '--amp',
        nargs='?',
        const='auto',
        default=None,
        choices=('auto', 'bfloat16', 'float16'),
        metavar='DTYPE',
        help='mixed precision: every training forward under autocast, '
        'bfloat16 on the CPU, float16 with dynamic loss scaling on CUDA '
        '(--amp bfloat16 for bfloat16 there); the weights and optimizers '
        'stay in float32, the recovery (LASSO in float64), BN absorption '
        'and export run outside autocast, and the NaN/inf checks stay on '
        '(sets the config\'s amp key)')
    parser.add_argument(
        '--measure-latency-table',
        action='store_true',
        help='measure the latency budget\'s table on this machine when '
        'the search starts, with the runtime, threads and batch of the '
        'table the config names, instead of reading that table (built on '
        'another device)')
    parser.add_argument(
        '--compile',
        nargs='?',
        const='inductor',
        metavar='BACKEND',
        help='compile the training step with torch.compile (mmengine\'s '
        'cfg.compile): with the inductor backend, or the one given (e.g. '
        'aot_eager); the first iterations, and the first after each '
        'recovery of a search, compile')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate checkpoints during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual total batch size over '
        'the config\'s auto_scale_lr.base_batch_size')
    add_runner_args(parser)
    return parse_runner_args(parser)


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Merges the command-line switches into the config."""
    cfg.launcher = args.launcher
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None

    if args.amp is not None:
        # applied to every optimizer wrapper by build_runner
        cfg.amp = dict(dtype=None if args.amp == 'auto' else args.amp)

    if args.measure_latency_table:
        for line in measure_latency_here(cfg):
            if os.environ.get('RANK', '0') == '0':
                print(f'--measure-latency-table: {line}', file=sys.stderr,
                      flush=True)

    if args.compile is not None:
        cfg.compile = dict(backend=args.compile)

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        exit_if_missing(args.resume, 'checkpoint to resume from')
        cfg.resume = True
        cfg.load_from = args.resume

    if args.lr_from_config:
        if args.resume is None:
            sys.exit('error: --lr-from-config works with --resume (it '
                     'changes how a run resumes)')
        cfg.custom_hooks = list(cfg.get('custom_hooks', None) or []) + [
            dict(type='ConfigLRResumeHook')
        ]

    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True

    return dataloader_defaults(cfg)


def resume_message(line: str) -> None:
    """Prints a line about the checkpoint ``--resume`` chose (rank 0)."""
    if os.environ.get('RANK', '0') == '0':
        print(f'--resume: {line}', file=sys.stderr, flush=True)


def interrupted_advice(cfg: Optional[Config], config_path: str) -> str:
    """What Ctrl-C leaves behind and how to continue."""
    if cfg is None:
        return 'nothing was written'
    last = newest_intact_checkpoint(cfg.work_dir)
    if last is None:
        return f'no checkpoint was written in {cfg.work_dir} yet'
    return (f'the last checkpoint is {last}; continue with: python '
            f'tools/train.py {config_path} --work-dir {cfg.work_dir} '
            '--resume')


def main():
    args = parse_args()
    cfg = None
    with reported_errors(lambda: interrupted_advice(cfg, args.config)):
        cfg = merge_args(
            load_config(args.config, args.cfg_options, args.work_dir), args)
        if args.data_root is not None:
            keys = set_data_root(cfg, args.data_root)
            if os.environ.get('RANK', '0') == '0':
                print(f'--data-root: set {", ".join(keys)} to '
                      f'{args.data_root}', file=sys.stderr, flush=True)
        # an automatic resume continues from the newest intact checkpoint
        choose_resume_checkpoint(cfg, resume_message)
        loaders = ['train_dataloader', 'arch_dataloader', 'val_dataloader']
        problem = missing_data(cfg, loaders) or folder_dataset_problem(
            cfg, loaders)
        if problem:
            sys.exit(f'error: {problem}')
        check_train_config(cfg)
        check_writable(cfg.work_dir)
        setup_cpu_distributed(cfg, args.launcher)
        runner = build_runner(cfg)
        verify_checkpoint(runner)
        try:
            runner.train()
        except NonFiniteError as error:
            raise NonFiniteError(divergence_advice(error, runner,
                                                   sys.argv)) from error
        finish_distributed()


if __name__ == '__main__':
    main()
