# Copyright (c) mmista contributors. All rights reserved.
"""The ``amp`` key of a config: mixed precision for every optimizer."""
from typing import List, Optional

from mmengine.config import Config
from mmengine.device import get_device

from mmista.engine.optimizers.mixed_precision_optim_wrapper import (
    DEFAULT_DTYPES, mixed_precision_problem)
from mmista.errors import ConfigError

WRAPPER_TYPE = 'MixedPrecisionOptimWrapper'


def optimizer_wrappers(cfg: Config) -> List[dict]:
    """The wrapper configs of ``cfg.optim_wrapper``: itself, or one per
    optimizer (a search: ``weights`` and ``architecture``).

    Args:
        cfg (Config): A training config.

    Returns:
        list[dict]: The wrapper configs, to change in place.
    """
    optim_wrapper = cfg.get('optim_wrapper', None)
    if not optim_wrapper:
        return []
    if 'optimizer' in optim_wrapper:
        return [optim_wrapper]
    return [w for w in optim_wrapper.values() if isinstance(w, dict)]


def apply_mixed_precision(cfg: Config) -> Optional[str]:
    """Trains every optimizer of the config under mixed precision if its
    ``amp`` key asks for it.

    ``amp = dict(dtype='bfloat16')`` (or ``'float16'``; ``dtype=None`` or
    ``amp = True``: the device's default, CPU bfloat16, CUDA float16) sets
    each wrapper's type to :class:`MixedPrecisionOptimWrapper` with that
    dtype, keeping its other settings (clipping, the search's two
    wrappers), and the finite-loss checks with it. ``amp = None`` or
    ``False`` (default) changes nothing.

    Args:
        cfg (Config): The run's config (changed in place).

    Returns:
        str | None: A line saying what was set, or None.

    Raises:
        ConfigError: ``amp`` is malformed, or its dtype cannot autocast on
            this machine's device (float16 on the CPU: use bfloat16).
    """
    amp = cfg.get('amp', None)
    if amp is None or amp is False:
        return None
    if amp is True:
        amp = dict(dtype=None)
    if not isinstance(amp, dict) or set(amp) - {'dtype'}:
        raise ConfigError(
            "amp must be True, None or dict(dtype='bfloat16' | 'float16' | "
            f'None), got {amp!r}')
    device = get_device()
    dtype = amp.get('dtype', None) or DEFAULT_DTYPES.get(device)
    problem = mixed_precision_problem(dtype, device)
    if problem is not None:
        raise ConfigError(f'amp: {problem}')
    wrappers = optimizer_wrappers(cfg)
    if not wrappers:
        raise ConfigError('amp is set but the config has no optim_wrapper')
    for wrapper in wrappers:
        wrapper.type = WRAPPER_TYPE
        wrapper.dtype = dtype
    return (f'mixed precision: {dtype} autocast on {device}'
            f'{" with dynamic loss scaling" if dtype == "float16" else ""}'
            f' ({len(wrappers)} optimizer wrapper'
            f'{"s" if len(wrappers) > 1 else ""})')
