# Copyright (c) mmista contributors. All rights reserved.
"""An optimizer wrapper that never steps on NaN or infinity."""
from typing import List, Optional

import torch
from mmengine.optim import OptimWrapper

from mmista.finite import NonFiniteError
from mmista.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class FiniteOptimWrapper(OptimWrapper):
    """:class:`~mmengine.optim.OptimWrapper` that checks before it steps.

    Before every optimizer step the loss of the backward (when this wrapper
    ran it, or was told of it with :meth:`watch_loss`) and the norm of the
    gradients must be finite; otherwise :class:`~mmista.finite.NonFiniteError`
    is raised, the gradients are cleared and neither the parameters nor
    the optimizer's state change, so the run stops with the weights of the
    last good step. The norm is
    the one gradient clipping computes anyway (``clip_grad`` by norm, which
    it still logs as ``grad_norm``); without clipping by norm it is computed
    here. Both checks share one host synchronisation per step.

    :class:`MixedPrecisionOptimWrapper` (``--amp``) keeps these checks;
    under float16 its loss scaler skips the steps on non-finite gradients
    instead (mmengine's ``AmpOptimWrapper`` checks nothing: there
    :class:`~mmista.engine.FiniteLossHook` stops a run whose loss stays
    non-finite).

    Its ``name`` says what it updates in the message: the optimizer's
    class name, or the part of a search (``'weights'``,
    ``'architecture'``) that :class:`SearchOptimWrapperConstructor` sets.

    Args:
        **kwargs: Arguments of :class:`~mmengine.optim.OptimWrapper`.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.name = type(self.optimizer).__name__
        self._loss_finite: Optional[torch.Tensor] = None

    def watch_loss(self, loss: torch.Tensor) -> None:
        """Records whether the loss whose gradients the next step uses is
        finite (no host synchronisation)."""
        finite = torch.isfinite(loss.detach()).all()
        self._loss_finite = finite if self._loss_finite is None else \
            self._loss_finite & finite

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        """Backward of ``loss``, recorded for the check of the next step."""
        self.watch_loss(loss)
        super().backward(loss, **kwargs)

    def zero_grad(self, **kwargs) -> None:
        """Clears the gradients and the record of their loss."""
        self._loss_finite = None
        super().zero_grad(**kwargs)

    def step(self, **kwargs) -> None:
        """Checks the loss and the gradient norm, then steps.

        Raises:
            NonFiniteError: The loss or the gradient norm is NaN or
                infinite; the parameters were not updated.
        """
        params = self._params_with_grad()
        by_norm = bool(self.clip_grad_kwargs) and \
            self.clip_func is torch.nn.utils.clip_grad_norm_
        if by_norm and params:
            norm = self.clip_func(params, **self.clip_grad_kwargs)
        elif params:
            norm = torch.nn.utils.get_total_norm([p.grad for p in params])
        else:
            norm = None
        self._raise_if_non_finite(norm, len(params))
        if by_norm and params:
            self.message_hub.update_scalar(f'train/{self.grad_name}',
                                           float(norm))
        elif self.clip_grad_kwargs:
            self._clip_grad()  # by value
        self.optimizer.step(**kwargs)

    def _params_with_grad(self) -> List[torch.Tensor]:
        return [
            param for group in self.optimizer.param_groups
            for param in group['params']
            if param.requires_grad and param.grad is not None
        ]

    def _raise_if_non_finite(self, norm: Optional[torch.Tensor],
                             num_params: int) -> None:
        """One synchronisation for the loss and the norm; raises if either
        is not finite."""
        loss_finite, self._loss_finite = self._loss_finite, None
        checks = {}
        if loss_finite is not None:
            checks['loss'] = loss_finite
        if norm is not None:
            checks['norm'] = torch.isfinite(norm)
        if not checks:
            return
        passed = dict(
            zip(checks,
                torch.stack(list(checks.values())).cpu().tolist()))
        if all(passed.values()):
            return
        if not passed.get('loss', True):
            what = 'the loss is not finite'
        else:
            what = (f'the gradient norm is {float(norm)} over {num_params} '
                    'parameter tensors')
        self.optimizer.zero_grad()
        raise NonFiniteError(
            f'{what} before the {self.name} optimizer stepped on it; its '
            'parameters were not updated')
