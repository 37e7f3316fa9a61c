# Copyright (c) mmista contributors. All rights reserved.
"""Checkpoints that torch's safe (weights-only) loading accepts.

mmengine 0.10.7 saves the message hub's ``HistoryBuffer`` objects and numpy
values in checkpoints, which ``torch.load`` (``weights_only=True`` by default
since torch 2.6) refuses, so ``--resume`` fails. Rather than loosening the
loader, this hook stores plain Python types only and rebuilds the history
buffers when a checkpoint is loaded.
"""
from collections import OrderedDict
from typing import Any

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer

from mmista.registry import HOOKS

_BUFFER_TAG = '__mmista_history_buffer__'


def to_plain(value: Any) -> Any:
    """Recursively converts numpy objects and history buffers to plain types.

    Args:
        value (Any): A checkpoint entry.

    Returns:
        Any: The same data as tensors, dicts, lists, tuples and Python
        scalars.
    """
    if isinstance(value, HistoryBuffer):
        log_history, count_history = value.data
        return {
            _BUFFER_TAG: True,
            'log_history': [float(v) for v in log_history],
            'count_history': [float(v) for v in count_history],
            'max_length': int(value.max_length),
        }
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value))
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        items = [(key, to_plain(item)) for key, item in value.items()]
        return OrderedDict(items) if isinstance(value, OrderedDict) else dict(
            items)
    if isinstance(value, (list, tuple)):
        items = [to_plain(item) for item in value]
        return items if isinstance(value, list) else tuple(items)
    return value


def from_plain(value: Any) -> Any:
    """Rebuilds the history buffers that :func:`to_plain` flattened."""
    if isinstance(value, dict):
        if value.get(_BUFFER_TAG):
            return HistoryBuffer(value['log_history'],
                                 value['count_history'], value['max_length'])
        for key in list(value):
            value[key] = from_plain(value[key])
    elif isinstance(value, list):
        value[:] = [from_plain(item) for item in value]
    return value


@HOOKS.register_module()
class WeightsOnlyCheckpointHook(Hook):
    """Keeps checkpoints loadable with ``torch.load(weights_only=True)``.

    Before a checkpoint is saved, every entry but the model weights is
    converted to plain types; after one is loaded the message hub's history
    buffers are rebuilt, so ``Runner.resume`` restores the logged statistics.
    """

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Converts everything but the model weights to plain types."""
        for key in checkpoint:
            if key != 'state_dict':
                checkpoint[key] = to_plain(checkpoint[key])

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Rebuilds the message hub's history buffers in place."""
        if 'message_hub' in checkpoint:
            checkpoint['message_hub'] = from_plain(checkpoint['message_hub'])
