# Copyright (c) mmista contributors. All rights reserved.
"""Stop a run whose numbers stopped being numbers."""
import functools
import math
from typing import Dict, Optional, Sequence

import torch
from mmengine.hooks import Hook

from mmista.finite import NonFiniteError, check_finite, named_tensors_of
from mmista.registry import HOOKS


def read_scalars(values: Dict[str, object]) -> Dict[str, float]:
    """Python floats of 0-dim tensors and numbers, the tensors read in one
    host synchronisation.

    Args:
        values (dict[str, Tensor | float]): Named scalars.

    Returns:
        dict[str, float]: The same names, as floats.
    """
    tensors = {k: v.detach() for k, v in values.items() if torch.is_tensor(v)}
    read = {}
    if tensors:
        dtype = functools.reduce(torch.promote_types,
                                 (t.dtype for t in tensors.values()))
        read = dict(
            zip(tensors,
                torch.stack([t.reshape(()).to(dtype)
                             for t in tensors.values()]).tolist()))
    return {k: read[k] if k in read else float(v) for k, v in values.items()}


class NonFiniteLossError(NonFiniteError):
    """The training loss became NaN or infinite."""


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Stops a run at the first non-finite loss or output, and never writes
    a checkpoint that holds NaN or infinity.

    :class:`~mmista.engine.optimizers.FiniteOptimWrapper` stops training
    before an optimizer steps on a non-finite loss or gradient norm; this
    hook is the net behind it (a plain ``OptimWrapper``, mixed precision):

    - after every training iteration, every logged loss must be finite;
    - before a checkpoint is written, every floating-point tensor of the
      model and the optimizers must be finite, so the last checkpoint on
      disk is one to resume from;
    - every validation and test output (the predicted scores) must be
      finite: a diverged network is not scored as a poor one.

    Each raises :class:`~mmista.finite.NonFiniteError` (the loss:
    :class:`NonFiniteLossError`) naming what is not finite; ``tools/
    train.py`` adds which checkpoint to continue from and how.
    """

    priority = 'VERY_HIGH'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        """Checks every logged loss of this iteration (one host
        synchronisation for all of them)."""
        if not outputs:
            return
        losses = read_scalars(
            {key: value
             for key, value in outputs.items() if 'loss' in key})
        bad = {k: v for k, v in losses.items() if not math.isfinite(v)}
        if bad:
            raise NonFiniteLossError(
                f'non-finite loss {bad} at epoch {runner.epoch + 1}, '
                f'iteration {batch_idx + 1}: training stopped')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Refuses to write model or optimizer state holding NaN or inf."""
        tensors = dict(
            named_tensors_of({
                key: checkpoint[key]
                for key in ('state_dict', 'optimizer') if key in checkpoint
            }))
        check_finite(
            tensors, f'refusing to write the checkpoint of epoch '
            f'{runner.epoch + 1} (iteration {runner.iter + 1})')

    def after_val_iter(self, runner, batch_idx: int, data_batch=None,
                       outputs: Optional[Sequence] = None) -> None:
        """Checks the validation outputs."""
        self._check_outputs(outputs, 'validation', batch_idx)

    def after_test_iter(self, runner, batch_idx: int, data_batch=None,
                        outputs: Optional[Sequence] = None) -> None:
        """Checks the test outputs."""
        self._check_outputs(outputs, 'test', batch_idx)

    @staticmethod
    def _check_outputs(outputs: Optional[Sequence], split: str,
                       batch_idx: int) -> None:
        """Raises if a predicted score of the batch is NaN or infinite."""
        scores = [
            sample.pred_score for sample in outputs or []
            if 'pred_score' in getattr(sample, 'keys', lambda: [])()
        ]
        if not scores:
            return
        finite = torch.stack([torch.isfinite(s).all() for s in scores])
        if bool(finite.all()):
            return
        raise NonFiniteError(
            f'the predicted scores are not finite for '
            f'{int((~finite).sum())} of {len(scores)} images of {split} '
            f'batch {batch_idx + 1}: the weights diverged or were damaged; '
            'evaluate a checkpoint with finite weights')
