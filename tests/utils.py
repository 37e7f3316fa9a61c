# Copyright (c) mmista contributors. All rights reserved.
"""Shared helpers: tiny settings that keep tests fast on 2 CPU cores."""
import argparse
import logging
import os
import os.path as osp
import subprocess
import sys
from contextlib import contextmanager
from typing import Iterator, List

import pytest
from mmengine.config import Config, DictAction

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DIGITS_EVAL_CONFIG = osp.join(REPO_ROOT, 'configs', 'nets',
                              'ista_onestage_digits.py')

# 4 cells of C = 4 (reductions at 1 and 2, auxiliary head on cell 2) on 96
# digits, two epochs: a real training run in a few seconds.
TINY_TRAIN_OPTIONS = [
    'model.backbone.channels=4',
    'model.backbone.layers=4',
    'model.head.in_channels=64',
    'model.head.aux_in_channels=64',
    'train_dataloader.batch_size=32',
    'train_dataloader.dataset.indices=96',
    'val_dataloader.dataset.indices=64',
    'train_cfg.max_epochs=2',
    'train_cfg.val_interval=1',
    'param_scheduler.T_max=2',
    'default_hooks.logger.interval=1',
]


# One epoch of the same run.
ONE_EPOCH = [
    option for option in TINY_TRAIN_OPTIONS
    if not option.startswith('train_cfg.max_epochs')
] + ['train_cfg.max_epochs=1']

ONESTAGE_DIGITS = osp.join(REPO_ROOT, 'configs', 'ista', 'onestage_digits.py')
# The one-stage digits search at the same size: one search epoch (the cap)
# and one evaluation epoch.
TINY_ONESTAGE = [
    option for option in TINY_TRAIN_OPTIONS
    if not option.startswith(('param_scheduler', 'train_cfg'))
] + [
    'train_cfg.max_epochs=4',
    'train_cfg.stages.termination.max_search_epochs=1',
    'train_cfg.stages.phase_switch.eval_epochs=1',
    # a network this small and short does not learn: its export is kept
    'train_cfg.stages.export.check_learned=False',
]


def run_tool(*args, timeout=600, check=True, threads=2):
    """Runs a script of ``tools/`` in a subprocess and returns it.

    Args:
        *args: Script path relative to the repository, then its arguments.
        timeout (int): Seconds before the run is killed.
        check (bool): Fail the test with the output if the exit code is not
            zero.
        threads (int): ``OMP_NUM_THREADS`` of the process. Defaults to 2.

    Returns:
        subprocess.CompletedProcess: The finished process (text output).
    """
    env = dict(
        os.environ, PYTHONWARNINGS='ignore', OMP_NUM_THREADS=str(threads))
    proc = subprocess.run([sys.executable, *args],
                          cwd=REPO_ROOT,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        pytest.fail(f'{args[0]} exited with {proc.returncode}:\n'
                    f'{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}')
    return proc


def tiny_config(work_dir, config=DIGITS_EVAL_CONFIG, validate=True) -> Config:
    """Loads a config with :data:`TINY_TRAIN_OPTIONS` applied.

    Args:
        work_dir (str | Path): The run's work directory.
        config (str): Config file. Defaults to the digits evaluation
            config (a derived network).
        validate (bool): Keep the validation loop. Defaults to True.

    Returns:
        Config: The config, ready for ``Runner.from_cfg``.
    """
    parser = argparse.ArgumentParser()
    parser.add_argument('--options', nargs='+', action=DictAction)
    options = parser.parse_args(['--options', *TINY_TRAIN_OPTIONS]).options
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options)
    cfg.work_dir = str(work_dir)
    if not validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    return cfg


@contextmanager
def logged_records(logger: logging.Logger,
                   level: int = logging.NOTSET) -> Iterator[List]:
    """Collects the records ``logger`` emits at ``level`` or above while
    the block runs."""
    records = []
    handler = logging.Handler(level)
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
