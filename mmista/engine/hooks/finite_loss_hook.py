# Copyright (c) mmista contributors. All rights reserved.
"""Stop a run whose loss stopped being a number."""
import math

import torch
from mmengine.hooks import Hook
from mmengine.runner import find_latest_checkpoint

from mmista.errors import UserError
from mmista.registry import HOOKS


class NonFiniteLossError(UserError, RuntimeError):
    """The training loss became NaN or infinite."""


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Stops training at the first non-finite loss, with a clear message.

    Raising before the epoch ends means no checkpoint of the diverged state
    is written: the last checkpoint on disk is the last good one, and the
    message names it for ``--resume``.
    """

    priority = 'VERY_HIGH'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        """Checks every logged loss of this iteration."""
        if not outputs:
            return
        losses = {
            key: float(value.detach() if torch.is_tensor(value) else value)
            for key, value in outputs.items() if 'loss' in key
        }
        bad = {k: v for k, v in losses.items() if not math.isfinite(v)}
        if not bad:
            return
        last = find_latest_checkpoint(runner.work_dir)
        raise NonFiniteLossError(
            f'non-finite loss {bad} at epoch {runner.epoch + 1}, iteration '
            f'{batch_idx + 1}: training stopped. The last good checkpoint is '
            f'{last or "(none yet)"}; lower the learning rate (or enable '
            'gradient clipping) and resume from it with --resume')
