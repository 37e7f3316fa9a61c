# Copyright (c) mmista contributors. All rights reserved.
"""The result of retraining one genotype with several seeds.

Each run's work dir holds what mmengine writes: ``<timestamp>/<timestamp>.log``
(with the seed under ``Runtime environment``) and
``<timestamp>/vis_data/scalars.json`` (one JSON object per logged step, the
validation metrics among them). A genotype is evaluated by the mean and
standard deviation of the final validation metric over the seeds.
"""
import json
import math
import os
import os.path as osp
import re
from dataclasses import dataclass
from datetime import datetime
from typing import List, Optional, Sequence, Tuple

from mmista.errors import UserError

_SEED_LINE = re.compile(r'^\s+seed: (-?\d+)\s*$', re.MULTILINE)
_TIMESTAMP = re.compile(r'^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d)', re.MULTILINE)


@dataclass(frozen=True)
class SeedRun:
    """One finished run.

    Args:
        work_dir (str): The run's work dir.
        seed (int, optional): The seed it ran with (from its log).
        value (float): The metric at its last validation.
        epoch (int): The epoch of that validation.
        wall_s (float, optional): Seconds from the log's first line to its
            last.
    """

    work_dir: str
    seed: Optional[int]
    value: float
    epoch: int
    wall_s: Optional[float]


def _latest_run_folder(work_dir: str, metric: str) -> str:
    """The newest ``<timestamp>`` folder of a work dir with scalars."""
    folders = sorted(
        name for name in (os.listdir(work_dir) if osp.isdir(work_dir) else [])
        if osp.isfile(osp.join(work_dir, name, 'vis_data', 'scalars.json')))
    if not folders:
        raise UserError(
            f'{work_dir}: no <timestamp>/vis_data/scalars.json: is it the '
            'work dir of a tools/train.py run that validated '
            f'(it logs {metric})?')
    return osp.join(work_dir, folders[-1])


def _wall_seconds(log_text: str) -> Optional[float]:
    stamps = _TIMESTAMP.findall(log_text)
    if len(stamps) < 2:
        return None
    first, last = (
        datetime.strptime(s, '%Y/%m/%d %H:%M:%S')
        for s in (stamps[0], stamps[-1]))
    return (last - first).total_seconds()


def read_seed_run(work_dir: str, metric: str = 'accuracy/top1') -> SeedRun:
    """Reads the last validation of a run's latest log.

    Args:
        work_dir (str): The run's ``--work-dir``.
        metric (str): The validation metric. Defaults to
            ``'accuracy/top1'``.

    Returns:
        SeedRun: The run.

    Raises:
        UserError: The work dir holds no run, or it never logged
            ``metric``.
    """
    folder = _latest_run_folder(work_dir, metric)
    scalars = osp.join(folder, 'vis_data', 'scalars.json')
    last = None
    with open(scalars, encoding='utf-8') as file:
        for line in file:
            record = json.loads(line) if line.strip() else {}
            if metric in record:
                last = record
    if last is None:
        raise UserError(
            f'{scalars}: no {metric} logged: the run has not validated yet '
            '(train_cfg.val_interval) or the metric has another name '
            '(--metric)')
    log = osp.join(folder, osp.basename(folder) + '.log')
    text = ''
    if osp.isfile(log):
        with open(log, encoding='utf-8', errors='replace') as file:
            text = file.read()
    seed = _SEED_LINE.search(text)
    return SeedRun(
        work_dir=work_dir,
        seed=int(seed.group(1)) if seed else None,
        value=float(last[metric]),
        epoch=int(last.get('step', last.get('epoch', 0))),
        wall_s=_wall_seconds(text))


def mean_and_std(values: Sequence[float]) -> Tuple[float, float]:
    """The mean and the sample standard deviation (n - 1; 0 for one value).

    Args:
        values (Sequence[float]): One value per seed.

    Returns:
        tuple[float, float]: Mean and standard deviation.
    """
    if not values:
        raise ValueError('no values')
    mean = sum(values) / len(values)
    if len(values) == 1:
        return mean, 0.
    variance = sum((v - mean)**2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(variance)


def seed_table(runs: Sequence[SeedRun], metric: str) -> List[str]:
    """Markdown lines: one row per run, then the mean and std.

    Args:
        runs (Sequence[SeedRun]): The runs.
        metric (str): The metric's name, for the header.

    Returns:
        list[str]: The table and a summary line.
    """
    lines = [
        f'| work dir | seed | epoch | {metric} | wall time |',
        '| --- | --- | --- | --- | --- |'
    ]
    for run in runs:
        wall = f'{run.wall_s:.0f} s' if run.wall_s is not None else '?'
        seed = run.seed if run.seed is not None else '?'
        lines.append(f'| {run.work_dir} | {seed} | {run.epoch} | '
                     f'{run.value:.2f} | {wall} |')
    mean, std = mean_and_std([run.value for run in runs])
    lines.append('')
    runs_text = f'{len(runs)} run' + ('s' if len(runs) != 1 else '')
    lines.append(f'{metric} over {runs_text}: {mean:.2f} ± {std:.2f} '
                 '(mean ± sample standard deviation)')
    return lines
