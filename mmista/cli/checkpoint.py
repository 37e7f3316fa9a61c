# Copyright (c) mmista contributors. All rights reserved.
"""Checking a checkpoint before a run relies on it."""
import sys
from typing import Dict, Optional

import torch
import torch.nn as nn
from mmengine.model import is_model_wrapper
from mmengine.runner import find_latest_checkpoint

from mmista.fileio.checkpoint_loading import (CheckpointError,
                                              load_checkpoint_safely)
from mmista.models.genotype_record import check_recorded_genotype


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


def checkpoint_to_load(cfg) -> Optional[str]:
    """The checkpoint a run will load: ``load_from``, or with ``resume``
    and no path the latest one in the work dir."""
    if cfg.get('load_from'):
        return cfg.load_from
    if cfg.get('resume'):
        return find_latest_checkpoint(cfg.work_dir)
    return None


def verify_checkpoint(runner) -> None:
    """Exits with a clear message if the checkpoint a runner is about to
    load cannot be read or does not fit its model (names and shapes, and
    the genotype it records).

    Args:
        runner (Runner): A built runner (its model exists).
    """
    path = checkpoint_to_load(runner.cfg)
    if path is None:
        return
    try:
        checkpoint = read_checkpoint(path)
        check_fits(runner.model, checkpoint, path)
        check_recorded_genotype(runner.model, checkpoint, path)
    except CheckpointError as err:
        sys.exit(f'error: {err}')
