# Copyright (c) mmista contributors. All rights reserved.
"""Helpers shared by mmista's hooks and loops."""
import torch.nn as nn
from mmengine.model import is_model_wrapper


def unwrapped_model(runner) -> nn.Module:
    """The runner's model without its distributed wrapper, if any."""
    model = runner.model
    return model.module if is_model_wrapper(model) else model


def backbone_with(runner, attribute: str, user: str) -> nn.Module:
    """The runner model's backbone, checked to have ``attribute``.

    Args:
        runner (Runner): The runner (its model may be wrapped, e.g. DDP).
        attribute (str): What the caller needs from the backbone.
        user (str): The caller's name, for the error message.

    Returns:
        nn.Module: The backbone.

    Raises:
        AttributeError: The model has no backbone, or it lacks
            ``attribute``.
    """
    model = unwrapped_model(runner)
    backbone = getattr(model, 'backbone', None)
    if backbone is None or not hasattr(backbone, attribute):
        raise AttributeError(
            f'{user} needs a model whose backbone has `{attribute}`, got '
            f'{type(backbone).__name__} in {type(model).__name__}')
    return backbone


def diff_rank_seed(runner) -> bool:
    """Whether the run gives each rank its own seed
    (``randomness.diff_rank_seed`` of the runner's config)."""
    randomness = runner.cfg.get('randomness') or {}
    return bool(randomness.get('diff_rank_seed', False))
