# Copyright (c) mmista contributors. All rights reserved.
"""Checking a checkpoint before a run relies on it, and choosing the one
``--resume`` continues from."""
import glob
import os.path as osp
import re
import sys
from typing import Callable, Dict, List, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model import is_model_wrapper

from mmista.fileio.checkpoint_loading import (CheckpointError,
                                              load_checkpoint_safely)
from mmista.finite import check_finite
from mmista.models.genotype_record import check_recorded_genotype

#: The file of a work dir that names the checkpoint saved last.
LAST_CHECKPOINT_FILE = 'last_checkpoint'

#: The names mmengine's checkpoint hook gives periodic checkpoints.
_NUMBERED_CHECKPOINT = re.compile(r'^(epoch|iter)_(\d+)\.pth$')


def read_checkpoint(path: str) -> dict:
    """Loads a checkpoint with mmista's weights-only reader
    (:func:`mmista.fileio.checkpoint_loading.load_checkpoint_safely`).

    The tensors are memory-mapped, not read: checking a checkpoint before
    mmengine loads it costs its metadata only. Files in torch's legacy
    (non-zip) format are read in full; a URL is downloaded (once) first.

    Args:
        path (str): Checkpoint file or URL.

    Returns:
        dict: The checkpoint.

    Raises:
        CheckpointError: The file is missing, truncated, corrupt, not a
            checkpoint, or holds objects that safe loading refuses.
    """
    return load_checkpoint_safely(path, map_location='cpu', mmap=True)


def check_fits(model: nn.Module, checkpoint: dict,
               path: str) -> Dict[str, torch.Tensor]:
    """Checks that a checkpoint's weights have the model's names and shapes.

    Args:
        model (nn.Module): The model (possibly wrapped).
        checkpoint (dict): From :func:`read_checkpoint`.
        path (str): The file, for the message.

    Returns:
        dict[str, Tensor]: The checkpoint's state dict, keyed like the
        unwrapped model's.

    Raises:
        CheckpointError: Keys are missing or unexpected, or shapes differ.
    """
    if is_model_wrapper(model):
        model = model.module
    state = checkpoint.get('state_dict', checkpoint)
    state = {k[len('module.'):] if k.startswith('module.') else k: v
             for k, v in state.items()}
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mismatched = [
        f'{k}: {tuple(state[k].shape)} in the file, '
        f'{tuple(v.shape)} in the model' for k, v in expected.items()
        if k in state and hasattr(state[k], 'shape')
        and tuple(state[k].shape) != tuple(v.shape)
    ]
    if not (missing or unexpected or mismatched):
        return state
    parts = []
    for label, items in (('missing', missing), ('unexpected', unexpected),
                         ('shape mismatch', mismatched)):
        if items:
            shown = ', '.join(items[:3])
            more = f' and {len(items) - 3} more' if len(items) > 3 else ''
            parts.append(f'{label}: {shown}{more}')
    raise CheckpointError(
        f'the checkpoint {path} does not fit the model of this config (was '
        f'it written for another architecture or size?): '
        + '; '.join(parts))


def _checkpoint_number(path: str) -> Optional[Tuple[str, int]]:
    """``('epoch', 3)`` for ``.../epoch_3.pth``; None for other names."""
    match = _NUMBERED_CHECKPOINT.match(osp.basename(path))
    return (match.group(1), int(match.group(2))) if match else None


def _last_saved(work_dir: str) -> Optional[str]:
    """The checkpoint ``work_dir/last_checkpoint`` names, if any.

    A relative name that no longer resolves (the run was started from
    another folder, or the work dir was moved) is looked up in the work dir.
    """
    try:
        with open(osp.join(work_dir, LAST_CHECKPOINT_FILE)) as file:
            named = file.read().strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not named:
        return None
    moved = osp.join(work_dir, osp.basename(named))
    return moved if not osp.exists(named) and osp.isfile(moved) else named


def _numbered_checkpoints(folders: List[str]) -> List[str]:
    """The ``epoch_<n>.pth`` / ``iter_<n>.pth`` files of some folders,
    highest number first."""
    found = {
        osp.normpath(path)
        for folder in folders
        for path in glob.glob(osp.join(glob.escape(folder), '*_*.pth'))
        if _checkpoint_number(path) and osp.isfile(path)
    }
    return sorted(
        found,
        key=lambda path: (_checkpoint_number(path)[1], path),
        reverse=True)


def intact_checkpoint_problem(path: str) -> Optional[str]:
    """Why a checkpoint cannot be resumed from, or None if it can.

    Args:
        path (str): Checkpoint file.

    Returns:
        str | None: The reason (the :class:`CheckpointError` of
        :func:`read_checkpoint`, a missing file, no training state).
    """
    if not osp.isfile(path):
        return 'no such file'
    try:
        checkpoint = read_checkpoint(path)
    except CheckpointError as err:
        return str(err)
    missing = [key for key in ('meta', 'state_dict') if key not in checkpoint]
    if missing:
        return (f'it holds no {" or ".join(missing)}: not a training '
                'checkpoint')
    return None


def newest_intact_checkpoint(
    work_dir: str,
    report: Optional[Callable[[str], None]] = None,
    problem_of: Callable[[str], Optional[str]] = intact_checkpoint_problem
) -> Optional[str]:
    """The newest checkpoint of a work dir that can be resumed from.

    The candidates, newest first: the checkpoint that
    ``work_dir/last_checkpoint`` names (the last save), then the
    ``epoch_<n>.pth`` and ``iter_<n>.pth`` files of the work dir (and of the
    named checkpoint's folder) from the highest number down. Numbered
    checkpoints beyond the last save are left out: an earlier run, which
    this one resumed before it, wrote them. The first candidate that passes
    :func:`intact_checkpoint_problem` (safe loading reads it, it holds a
    ``meta`` and a ``state_dict``) is the answer.

    Args:
        work_dir (str): The run's work dir.
        report (Callable[[str], None], optional): Called with one line for
            every checkpoint passed over, saying why.
        problem_of (Callable[[str], str | None]): Why a candidate will not
            do, or None. Defaults to :func:`intact_checkpoint_problem`.

    Returns:
        str | None: The checkpoint, or None if the work dir holds no intact
        one.
    """
    report = report or (lambda line: None)
    last = _last_saved(work_dir)
    folders = [work_dir] + ([osp.dirname(last)] if last else [])
    candidates = [last] if last else []
    beyond = []
    last_number = _checkpoint_number(last) if last else None
    for path in _numbered_checkpoints(folders):
        if last and osp.normpath(path) == osp.normpath(last):
            continue
        number = _checkpoint_number(path)
        if last_number and number[0] == last_number[0] and \
                number[1] > last_number[1]:
            beyond.append(path)
        else:
            candidates.append(path)
    for path in beyond:
        report(f'skipping {path}: beyond {last}, the checkpoint that '
               f'{LAST_CHECKPOINT_FILE} names as the last one saved')
    for path in candidates:
        problem = problem_of(path)
        if problem is None:
            return path
        named = ' (named by last_checkpoint)' if path == last else ''
        report(f'skipping {path}{named}: {problem}')
    return None


def choose_resume_checkpoint(cfg, report: Callable[[str], None]) -> None:
    """Points an automatic resume at the newest intact checkpoint.

    With ``resume=True`` and no ``load_from`` (``tools/train.py --resume``
    without a path), mmengine would resume from whatever
    ``last_checkpoint`` names, even a truncated file. This sets
    ``load_from`` to :func:`newest_intact_checkpoint` instead, or turns
    ``resume`` off when there is none (the run starts from scratch).

    Args:
        cfg (Config): The run's config (changed in place).
        report (Callable[[str], None]): Called with one line per skipped
            checkpoint and one saying what the run continues from.
    """
    if not cfg.get('resume') or cfg.get('load_from'):
        return
    path = newest_intact_checkpoint(cfg.work_dir, report)
    if path is None:
        cfg.resume = False
        report(f'no intact checkpoint in {cfg.work_dir} to resume from; '
               'training starts from scratch')
    else:
        cfg.load_from = path
        report(f'resuming from {path}')


def checkpoint_to_load(cfg) -> Optional[str]:
    """The checkpoint a run will load: ``load_from``, or with ``resume``
    and no path the newest intact one in the work dir."""
    if cfg.get('load_from'):
        return cfg.load_from
    if cfg.get('resume'):
        return newest_intact_checkpoint(cfg.work_dir)
    return None


def verify_checkpoint(runner) -> None:
    """Exits with a clear message if the checkpoint a runner is about to
    load cannot be read or does not fit its model (names and shapes, and
    the genotype it records).

    An automatic resume (``resume=True``, no ``load_from``) is pointed at
    the newest intact checkpoint (see :func:`newest_intact_checkpoint`)
    rather than at whatever ``last_checkpoint`` names.

    Raises :class:`~mmista.finite.NonFiniteError` (one line under
    :func:`~mmista.cli.reported_errors`) if its weights hold NaN or
    infinity.

    Args:
        runner (Runner): A built runner (its model exists).
    """
    path = checkpoint_to_load(runner.cfg)
    if runner.cfg.get('resume') and not runner.cfg.get('load_from'):
        # Not chosen before the runner was built (choose_resume_checkpoint):
        # Runner.load_or_resume would resume from what last_checkpoint
        # names; it resumes from `_load_from` when that is set.
        runner._load_from = path
        runner._resume = path is not None
    if path is None:
        return
    try:
        checkpoint = read_checkpoint(path)
        state = check_fits(runner.model, checkpoint, path)
        check_recorded_genotype(runner.model, checkpoint, path)
    except CheckpointError as err:
        sys.exit(f'error: {err}')
    check_finite(state, f'the weights of {path}')
