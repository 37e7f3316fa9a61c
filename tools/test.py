# Copyright (c) mmista contributors. All rights reserved.
"""Evaluate a checkpoint: ``python tools/test.py CONFIG CHECKPOINT``."""
import argparse
import sys

import mmengine

import mmista  # noqa: F401  (registers mmista's modules)
from mmista.cli import (add_runner_args, build_runner, check_batch_sizes,
                        check_num_classes, check_test_classes, exit_if_missing,
                        finish_distributed, folder_dataset_problem,
                        load_config, missing_data, parse_runner_args,
                        read_checkpoint, reported_errors,
                        setup_cpu_distributed, verify_checkpoint)
from mmista.fileio.checkpoint_loading import is_remote


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Evaluate a checkpoint on the config\'s test set')
    parser.add_argument('config', help='test config file path')
    parser.add_argument(
        'checkpoint', help='checkpoint file (or URL, downloaded once)')
    parser.add_argument(
        '--work-dir', help='the dir to save the evaluation logs')
    parser.add_argument(
        '--out', help='also write the metrics to this .json/.yaml file')
    parser.add_argument(
        '--amp', action='store_true', help='test with mixed precision')
    add_runner_args(parser)
    return parse_runner_args(parser)


def main():
    args = parse_args()
    if not is_remote(args.checkpoint):
        exit_if_missing(args.checkpoint, 'checkpoint')
    with reported_errors():
        cfg = load_config(args.config, args.cfg_options, args.work_dir)
        cfg.launcher = args.launcher
        loaders = ['test_dataloader']
        problem = missing_data(cfg, loaders)
        if problem:
            sys.exit(f'error: {problem}')
        # the checkpoint's classes first: they say best what differs
        check_test_classes(cfg, read_checkpoint(args.checkpoint),
                           args.checkpoint)
        problem = folder_dataset_problem(cfg, loaders)
        if problem:
            sys.exit(f'error: {problem}')
        check_batch_sizes(cfg, loaders)
        check_num_classes(cfg, 'test_dataloader')
        cfg.load_from = args.checkpoint
        if args.amp:
            cfg.test_cfg.fp16 = True
        setup_cpu_distributed(cfg, args.launcher)
        runner = build_runner(cfg)
        verify_checkpoint(runner)
        metrics = runner.test()
        finish_distributed()
    if args.out is not None:
        mmengine.dump(metrics, args.out)


if __name__ == '__main__':
    main()
