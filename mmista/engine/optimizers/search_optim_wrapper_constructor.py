# Copyright (c) mmista contributors. All rights reserved.
"""Two optimizers for a search: network weights and architecture."""
import copy
from typing import List, Optional, Set

import torch.nn as nn
from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict

from mmista.registry import (OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS,
                             OPTIMIZERS)
from .finite_optim_wrapper import FiniteOptimWrapper

PARTS = ('weights', 'architecture')


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class SearchOptimWrapperConstructor:
    """Builds ``OptimWrapperDict(weights=..., architecture=...)``.

    The model's ``architecture_parameters()`` (the compressed vectors ``b``
    of an :class:`ISTASuperNet`) go to the ``architecture`` wrapper and
    every other parameter to the ``weights`` wrapper, so neither optimizer
    (nor its weight decay) touches the other's parameters.

    Example:
        >>> optim_wrapper = dict(
        ...     constructor='SearchOptimWrapperConstructor',
        ...     weights=dict(
        ...         optimizer=dict(type='SGD', lr=0.2, momentum=0.9,
        ...                        weight_decay=3e-4),
        ...         clip_grad=dict(max_norm=5.)),
        ...     architecture=dict(
        ...         optimizer=dict(type='Adam', lr=6e-4, betas=(0.5, 0.999),
        ...                        weight_decay=1e-3)))

    Args:
        optim_wrapper_cfg (dict): One optimizer wrapper config per part
            (``type`` defaults to ``'FiniteOptimWrapper'``); the
            ``weights`` part may carry its own ``paramwise_cfg``.
        paramwise_cfg (dict, optional): Must be None: give it inside the
            ``weights`` part instead.
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None):
        if paramwise_cfg:
            raise ValueError(
                'SearchOptimWrapperConstructor: put paramwise_cfg inside '
                "optim_wrapper.weights (it does not apply to 'architecture')")
        unknown = set(optim_wrapper_cfg) - set(PARTS)
        missing = set(PARTS) - set(optim_wrapper_cfg)
        if unknown or missing:
            raise KeyError(
                'SearchOptimWrapperConstructor needs exactly the keys '
                f'{list(PARTS)} in optim_wrapper; unknown: {sorted(unknown)}'
                f', missing: {sorted(missing)}')
        for part in PARTS:
            if 'optimizer' not in optim_wrapper_cfg[part]:
                raise KeyError(f'optim_wrapper.{part} has no optimizer')
        self.optim_wrapper_cfg = copy.deepcopy(dict(optim_wrapper_cfg))

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        """Splits the model's parameters and builds both wrappers.

        Args:
            model (nn.Module): A model with ``architecture_parameters()``
                (e.g. :class:`SearchClassifier`), possibly wrapped.

        Returns:
            OptimWrapperDict: ``weights`` and ``architecture`` wrappers.
        """
        if is_model_wrapper(model):
            model = model.module
        if not hasattr(model, 'architecture_parameters'):
            raise TypeError(
                'SearchOptimWrapperConstructor needs a model with '
                '`architecture_parameters()` (SearchClassifier with a '
                f'searchable backbone), got {type(model).__name__}')
        architecture = list(model.architecture_parameters())
        if not architecture:
            raise ValueError('the model has no architecture parameters')
        arch_ids = {id(param) for param in architecture}
        weights_cfg = copy.deepcopy(self.optim_wrapper_cfg['weights'])
        paramwise_cfg = weights_cfg.pop('paramwise_cfg', None)
        weights = self._build(
            weights_cfg,
            self._weight_params(model, weights_cfg, paramwise_cfg, arch_ids))
        arch = self._build(
            copy.deepcopy(self.optim_wrapper_cfg['architecture']),
            architecture)
        for part, wrapper in zip(PARTS, (weights, arch)):
            if isinstance(wrapper, FiniteOptimWrapper):
                wrapper.name = part
        return OptimWrapperDict(weights=weights, architecture=arch)

    @staticmethod
    def _weight_params(model: nn.Module, wrapper_cfg: dict,
                       paramwise_cfg: Optional[dict],
                       exclude: Set[int]) -> List:
        """The model's parameters (or paramwise groups) minus ``exclude``."""
        if not paramwise_cfg:
            return [p for p in model.parameters() if id(p) not in exclude]
        groups: List[dict] = []
        DefaultOptimWrapperConstructor(wrapper_cfg, paramwise_cfg).add_params(
            groups, model)
        return [g for g in groups if id(g['params'][0]) not in exclude]

    @staticmethod
    def _build(wrapper_cfg: dict, params: List):
        """Builds an optimizer over ``params`` and its wrapper."""
        wrapper_cfg.setdefault('type', 'FiniteOptimWrapper')
        optimizer = OPTIMIZERS.build(
            dict(wrapper_cfg.pop('optimizer'), params=params))
        return OPTIM_WRAPPERS.build(
            wrapper_cfg, default_args=dict(optimizer=optimizer))
