# Copyright (c) mmista contributors. All rights reserved.
"""Evaluate a checkpoint: ``python tools/test.py CONFIG CHECKPOINT``."""
import argparse
import sys

import mmengine

import mmista  # noqa: F401  (registers mmista's modules)
from mmista.cli import (add_runner_args, build_runner, exit_if_missing,
                        finish_distributed, load_config, missing_data,
                        parse_runner_args, reported_errors,
                        setup_cpu_distributed, verify_checkpoint)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Evaluate a checkpoint on the config\'s test set')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
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
    exit_if_missing(args.checkpoint, 'checkpoint')
    cfg = load_config(args.config, args.cfg_options, args.work_dir)
    cfg.launcher = args.launcher
    problem = missing_data(cfg, ['test_dataloader'])
    if problem:
        sys.exit(f'error: {problem}')
    cfg.load_from = args.checkpoint
    if args.amp:
        cfg.test_cfg.fp16 = True
    with reported_errors():
        setup_cpu_distributed(cfg, args.launcher)
        runner = build_runner(cfg)
        verify_checkpoint(runner)
        metrics = runner.test()
        finish_distributed()
    if args.out is not None:
        mmengine.dump(metrics, args.out)


if __name__ == '__main__':
    main()
