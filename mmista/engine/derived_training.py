# Copyright (c) mmista contributors. All rights reserved.
"""After the phase switch: train the derived network and nothing else.

Once a one-stage search has fixed its architecture the super-net computes
exactly its derived network: the supported ops, each scaled by a constant
weight folded into its final BatchNorm. The candidate ops outside the
supports never run again, yet they would still sit in the weights
optimizer and in every list the step walks (the gradients to compute, to
clip, to check, to zero, the optimizer's own loop): on the digits network
about ten times the parameters the derived network has, and a few per cent
of every evaluation step. :func:`train_derived_network_only` takes them out
of training, so that the evaluation phase steps what a plain classifier of
the genotype steps.

The trajectory is unchanged: those parameters get no gradient, so no
optimizer step (with its weight decay and momentum) touched them before,
and none of the kept parameters' state moves. The model's ``state_dict``
keeps every op, so checkpoints keep their format; the weights optimizer's
state holds the kept parameters only, and a run resumed past the switch
narrows its optimizer the same way before that state is loaded.
"""
from typing import Dict

import torch.nn as nn
from mmengine.optim import OptimWrapper, OptimWrapperDict

from mmista.models.classifiers.search_classifier import WEIGHTS


def restore_architecture(backbone: nn.Module, state_dict: dict,
                         prefix: str = 'backbone.architecture.') -> None:
    """Loads a checkpoint's architecture state (supports, termination and
    fixed epochs) into the backbone ahead of the rest of the checkpoint, so
    that a resumed run knows its supports before its optimizer state is
    loaded.

    Args:
        backbone (nn.Module): An :class:`ISTASuperNet`.
        state_dict (dict): The checkpoint's model ``state_dict``.
        prefix (str): Where the architecture's entries are. Defaults to
            ``'backbone.architecture.'``.
    """
    backbone.architecture.load_state_dict({
        key[len(prefix):]: value
        for key, value in state_dict.items() if key.startswith(prefix)
    })


def weights_wrapper(optim_wrapper, name: str = WEIGHTS) -> OptimWrapper:
    """The wrapper that trains the network weights: the one named ``name``
    of a search's :class:`OptimWrapperDict`, or the only one."""
    if isinstance(optim_wrapper, OptimWrapperDict):
        return optim_wrapper[name]
    return optim_wrapper


def train_derived_network_only(backbone: nn.Module, optim_wrapper) -> int:
    """Takes the ops outside a fixed architecture's supports out of training.

    Their parameters stop requiring gradients and leave the weights
    optimizer's parameter groups, with their optimizer state (momentum
    buffers of their earlier time in the supports). The groups themselves
    stay, possibly empty, so learning-rate schedulers built on them and
    checkpointed optimizer states keep their layout. Calling it again does
    nothing more.

    Args:
        backbone (nn.Module): An :class:`ISTASuperNet` whose architecture
            is fixed.
        optim_wrapper (OptimWrapper | OptimWrapperDict, optional): The
            run's optimizer wrapper(s); None (not built yet) leaves only
            the gradients off.

    Returns:
        int: How many parameter tensors left the optimizer.

    Raises:
        ValueError: The architecture is not fixed (the supports could still
            move onto those ops).
    """
    if not backbone.architecture.is_fixed:
        raise ValueError(
            'the ops outside the supports leave training only once the '
            'architecture is fixed (after the phase switch)')
    idle = backbone.unsupported_parameters()
    for param in idle:
        param.requires_grad_(False)
    if not isinstance(optim_wrapper, (OptimWrapper, OptimWrapperDict)):
        return 0
    idle_ids = {id(param) for param in idle}
    optimizer = weights_wrapper(optim_wrapper).optimizer
    removed = 0
    for group in optimizer.param_groups:
        kept = []
        for param in group['params']:
            if id(param) in idle_ids:
                optimizer.state.pop(param, None)
                removed += 1
            else:
                kept.append(param)
        group['params'] = kept
    return removed


def optimizer_sizes(optim_wrapper) -> Dict[str, int]:
    """Parameter tensors and elements the weights optimizer holds.

    Args:
        optim_wrapper (OptimWrapper | OptimWrapperDict): The wrapper(s).

    Returns:
        dict[str, int]: ``tensors`` and ``elements``.
    """
    params = [
        param
        for group in weights_wrapper(optim_wrapper).optimizer.param_groups
        for param in group['params']
    ]
    return dict(
        tensors=len(params),
        elements=int(sum(param.numel() for param in params)))
