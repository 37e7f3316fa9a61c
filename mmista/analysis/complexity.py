# Copyright (c) mmista contributors. All rights reserved.
"""Counting a classifier's parameters and multiply-adds.

The one counter of mmista: ``tools/analysis_tools/complexity.py`` prints
it, and a search's resource budget
(:class:`~mmista.architecture.ResourceBudget`) measures its edge costs
with it, so what a search promises is what the tool measures on the
export.

``params`` counts every parameter except the auxiliary head's (the
convention of the DARTS-family papers); ``flops`` are the multiply-adds of
one image at the input size in eval mode (no auxiliary head), as mmengine's
:class:`~mmengine.analysis.FlopAnalyzer` counts them (convolutions, linear
layers and BatchNorms; pools and additions count zero).
"""
import logging
from collections import Counter
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

from mmista.registry import MODELS

#: The input side of each stem when none is given.
DEFAULT_SIZES = {'imagenet': 224, 'cifar': 32}


def count_params(model: nn.Module) -> Dict[str, int]:
    """Counts parameters with and without the auxiliary head.

    Args:
        model (nn.Module): The model.

    Returns:
        dict: ``params`` (without auxiliary head) and ``params_with_aux``.
    """
    total = aux = 0
    for name, param in model.named_parameters():
        total += param.numel()
        if is_auxiliary(name):
            aux += param.numel()
    return dict(params=total - aux, params_with_aux=total)


def is_auxiliary(name: str) -> bool:
    """Whether a parameter or module name belongs to the auxiliary head."""
    return '.aux_head.' in f'.{name}.'


def params_by_module(model: nn.Module,
                     prefixes: Sequence[str]) -> Dict[str, int]:
    """Parameters under each of the given module names.

    Args:
        model (nn.Module): The model.
        prefixes (Sequence[str]): Module names (``'backbone.cells.0'``).

    Returns:
        dict[str, int]: Parameter count per name.
    """
    counts = dict.fromkeys(prefixes, 0)
    for prefix in prefixes:
        module = model.get_submodule(prefix)
        counts[prefix] = sum(p.numel() for p in module.parameters())
    return counts


def count_flops(model: nn.Module, inputs: torch.Tensor) -> Tuple[int, Counter]:
    """Multiply-adds of the model on ``inputs``, in total and per module.

    Args:
        model (nn.Module): The model, in eval mode.
        inputs (Tensor): One batch.

    Returns:
        tuple[int, Counter]: The total and the count of every module (by
        name, ancestors included).
    """
    # FlopAnalyzer traces the model and drops what the output does not
    # depend on, so a cell whose result the next cells ignore (a genotype
    # that never reads one of its two inputs) would count zero although
    # it runs. Every module's output is appended to the model's output
    # while tracing, so everything that runs is counted.
    outputs: List[torch.Tensor] = []

    def keep(module, args, output):
        outputs.extend(_tensors(output))

    def append_kept(module, args, output):
        return (*_tensors(output), *outputs)

    handles = [
        module.register_forward_hook(keep) for module in model.modules()
        if module is not model
    ]
    handles.append(model.register_forward_hook(append_kept))
    # FlopAnalyzer logs one warning per parameter-free op type it skips.
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with torch.no_grad():
            analyzer = FlopAnalyzer(model, inputs=(inputs, ))
            analyzer.unsupported_ops_warnings(False)
            analyzer.uncalled_modules_warnings(False)
            return int(analyzer.total()), analyzer.by_module()
    finally:
        logger.setLevel(level)
        for handle in handles:
            handle.remove()


def _tensors(output) -> List[torch.Tensor]:
    """The tensors in a module's output (a tensor or nested sequences)."""
    if isinstance(output, torch.Tensor):
        return [output]
    if isinstance(output, (list, tuple)):
        return [t for item in output for t in _tensors(item)]
    return []


def input_shape(model_cfg: dict,
                shape: Optional[Sequence[int]] = None) -> Tuple[int, ...]:
    """The ``(1, C, H, W)`` input the counts use.

    Args:
        model_cfg (dict): The classifier config.
        shape (Sequence[int], optional): Height [and width]. Defaults to
            the stem's usual size (:data:`DEFAULT_SIZES`; 32 otherwise).

    Returns:
        tuple[int, ...]: ``(1, in_channels, height, width)``.
    """
    backbone = model_cfg.get('backbone', {}) or {}
    if not shape:
        shape = [DEFAULT_SIZES.get(backbone.get('stem', 'cifar'), 32)]
    shape = list(shape)
    height, width = (shape[0], shape[0]) if len(shape) == 1 else shape[:2]
    return (1, backbone.get('in_channels', 3), int(height), int(width))


def build_counted_model(model_cfg: dict, scope: str = 'mmista') -> nn.Module:
    """Builds a classifier config's model in eval mode, for counting."""
    init_default_scope(scope)
    model = MODELS.build(model_cfg)
    return model.eval()


def model_complexity(cfg: Config,
                     shape: Optional[Sequence[int]] = None) -> dict:
    """Builds the config's model and measures its size and multiply-adds.

    Args:
        cfg (Config): A config with a ``model`` entry.
        shape (Sequence[int], optional): Input height [and width].

    Returns:
        dict: ``params``, ``params_with_aux``, ``params_m``, ``flops``,
        ``flops_g`` and ``input_shape``.
    """
    model = build_counted_model(cfg.model, cfg.get('default_scope', 'mmista'))
    shape = input_shape(cfg.model, shape)
    result = count_params(model)
    flops, _ = count_flops(model, torch.zeros(shape))
    result.update(
        params_m=round(result['params'] / 1e6, 3),
        flops=flops,
        flops_g=round(flops / 1e9, 3),
        input_shape=list(shape))
    return result
