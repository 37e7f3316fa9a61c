# Copyright (c) mmista contributors. All rights reserved.
"""Mixed precision on the CPU and on CUDA, with the finite checks kept."""
from contextlib import contextmanager
from typing import Iterator, Optional, Union

import torch
import torch.nn as nn
from mmengine.runner.amp import autocast

from mmista.errors import ConfigError
from mmista.registry import OPTIM_WRAPPERS
from .finite_optim_wrapper import FiniteOptimWrapper

#: The autocast dtype of each device type when the config names none.
DEFAULT_DTYPES = {'cpu': 'bfloat16', 'cuda': 'float16'}
MIXED_DTYPES = ('bfloat16', 'float16')


def mixed_precision_problem(dtype: str, device_type: str) -> Optional[str]:
    """Why ``dtype`` cannot autocast on ``device_type``, or None.

    Args:
        dtype (str): ``'bfloat16'`` or ``'float16'``.
        device_type (str): ``'cpu'`` or ``'cuda'``.

    Returns:
        str | None: A one-line message saying what to use instead.
    """
    if dtype not in MIXED_DTYPES:
        return (f'mixed precision dtype must be one of {list(MIXED_DTYPES)}'
                f', got {dtype!r}')
    if device_type not in DEFAULT_DTYPES:
        return (f'mixed precision runs on the CPU or CUDA, not on '
                f'{device_type!r}')
    if device_type == 'cpu' and dtype == 'float16':
        return ('float16 mixed precision needs a CUDA device: on the CPU '
                'use bfloat16 (or leave the dtype out)')
    if device_type == 'cuda' and dtype == 'bfloat16' and \
            not torch.cuda.is_bf16_supported():
        return ('this CUDA device has no bfloat16: use float16 (or leave '
                'the dtype out)')
    return None


@OPTIM_WRAPPERS.register_module()
class MixedPrecisionOptimWrapper(FiniteOptimWrapper):
    """:class:`FiniteOptimWrapper` whose forward runs under autocast.

    The forward of every training step runs under
    :func:`mmengine.runner.amp.autocast` on the device of the optimizer's
    parameters: ``bfloat16`` on the CPU (no loss scaling: bfloat16 has
    float32's range), ``float16`` (default) or ``bfloat16`` on CUDA. The
    parameters, their gradients, the optimizer's state and everything
    outside the forward (the backward's accumulation, the hooks: the
    recovery, BN absorption, the export) stay in float32.

    Under bfloat16 every check of :class:`FiniteOptimWrapper` applies: a
    NaN/inf loss or gradient norm stops the run before a step. Under
    float16 a dynamic ``torch.amp.GradScaler`` scales the loss; a
    non-finite gradient then means an overflow the scaler answers by
    skipping the step and lowering the scale, as mixed precision does,
    while a non-finite loss still stops the run before any step.

    Unlike mmengine's ``AmpOptimWrapper`` it trains on the CPU, and it
    keeps the finite checks.

    Args:
        dtype (str, optional): ``'bfloat16'`` or ``'float16'``; None takes
            the device's default (CPU: bfloat16, CUDA: float16).
        loss_scale (str | float | dict): The float16 scaler: ``'dynamic'``
            (default), an initial scale (then static), or the
            ``GradScaler`` arguments. Unused under bfloat16.
        **kwargs: Arguments of :class:`FiniteOptimWrapper`.

    Raises:
        ConfigError: The dtype cannot autocast on the parameters' device
            (float16 on the CPU: use bfloat16).
    """

    def __init__(self,
                 dtype: Optional[str] = None,
                 loss_scale: Union[str, float, dict] = 'dynamic',
                 **kwargs):
        super().__init__(**kwargs)
        self.device_type = self._device_type()
        if isinstance(dtype, torch.dtype):
            dtype = str(dtype).replace('torch.', '')
        dtype = DEFAULT_DTYPES.get(self.device_type) if dtype is None \
            else dtype
        problem = mixed_precision_problem(dtype, self.device_type)
        if problem is not None:
            raise ConfigError(problem)
        self.cast_dtype = getattr(torch, dtype)
        self._scale_update_param = None
        self.loss_scaler: Optional[torch.amp.GradScaler] = None
        if dtype == 'float16':
            self.loss_scaler = self._build_scaler(loss_scale)

    def _device_type(self) -> str:
        """The device type of the optimizer's parameters (CPU if none)."""
        for group in self.optimizer.param_groups:
            for param in group['params']:
                return param.device.type
        return 'cpu'

    def _build_scaler(
            self, loss_scale: Union[str, float, dict]) -> torch.amp.GradScaler:
        """The float16 loss scaler ``loss_scale`` describes."""
        if loss_scale == 'dynamic':
            return torch.amp.GradScaler(self.device_type)
        if isinstance(loss_scale, float):
            self._scale_update_param = loss_scale
            return torch.amp.GradScaler(
                self.device_type, init_scale=loss_scale)
        if isinstance(loss_scale, dict):
            return torch.amp.GradScaler(self.device_type, **loss_scale)
        raise ConfigError(
            "loss_scale must be 'dynamic', a float or a dict of GradScaler "
            f'arguments, got {loss_scale!r}')

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        """Backward of ``loss`` (scaled under float16), recorded for the
        check of the next step."""
        if self.loss_scaler is None:
            super().backward(loss, **kwargs)
            return
        self.watch_loss(loss)
        self.loss_scaler.scale(loss).backward(**kwargs)
        self._inner_count += 1

    def step(self, **kwargs) -> None:
        """Checks, then steps (under float16 through the scaler).

        Raises:
            NonFiniteError: The loss (or, under bfloat16, the gradient
                norm) is NaN or infinite; the parameters were not updated.
        """
        if self.loss_scaler is None:
            super().step(**kwargs)
            return
        self.loss_scaler.unscale_(self.optimizer)
        self._raise_if_non_finite(None, 0)  # the loss only
        if self.clip_grad_kwargs:
            self._clip_grad()
        self.loss_scaler.step(self.optimizer, **kwargs)
        self.loss_scaler.update(self._scale_update_param)

    def state_dict(self) -> dict:
        """The optimizer's state, and the scaler's under float16."""
        state = super().state_dict()
        if self.loss_scaler is not None:
            state['loss_scaler'] = self.loss_scaler.state_dict()
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """Loads the optimizer's state and the scaler's, if both have one
        (a checkpoint of another precision resumes too)."""
        state_dict = dict(state_dict)
        scaler_state = state_dict.pop('loss_scaler', None)
        if scaler_state is not None and self.loss_scaler is not None:
            self.loss_scaler.load_state_dict(scaler_state)
        super().load_state_dict(state_dict)

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """The base context (gradient accumulation) under autocast."""
        with super().optim_context(model), autocast(
                device_type=self.device_type, dtype=self.cast_dtype):
            yield
