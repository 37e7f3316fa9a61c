# Copyright (c) mmista contributors. All rights reserved.
"""An image classifier whose backbone is searched while it trains."""
from contextlib import ExitStack
from typing import Callable, Dict, Iterator, List, Union

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmpretrain.models.classifiers import ImageClassifier

from mmista.registry import MODELS

#: Keys of the two optimizer wrappers a search trains with.
WEIGHTS = 'weights'
ARCHITECTURE = 'architecture'
#: Keys of a two-stage data batch: one batch per split.
WEIGHT_BATCH = 'weight'
ARCH_BATCH = 'arch'


def is_split_batch(data) -> bool:
    """Whether ``data`` holds one batch per split (two-stage search)."""
    return isinstance(data, dict) and set(data) == {WEIGHT_BATCH, ARCH_BATCH}


def trainable_parameters(optim_wrapper: OptimWrapper) -> List[nn.Parameter]:
    """The parameters of a wrapper's optimizer that currently train."""
    return [
        param for group in optim_wrapper.optimizer.param_groups
        for param in group['params'] if param.requires_grad
    ]


@MODELS.register_module()
class SearchClassifier(ImageClassifier):
    """:class:`mmpretrain.models.ImageClassifier` with a search step.

    The backbone (e.g. :class:`ISTASuperNet`) exposes its architecture
    variables through ``architecture_parameters()``; they are trained by the
    ``'architecture'`` wrapper of an :class:`~mmengine.optim.OptimWrapperDict`
    and the rest of the network by the ``'weights'`` wrapper (see
    :class:`SearchOptimWrapperConstructor`). :meth:`train_step` runs

    - **two-stage search** (SPEC section 4) when the batch is
      ``dict(arch=..., weight=...)`` (as :class:`TwoStageSearchLoop` feeds
      it): first an architecture step on the ``arch`` batch, whose backward
      reaches only the architecture variables, then a weight step on the
      ``weight`` batch, whose backward reaches only the weights (first
      order);
    - **one-stage search** (SPEC section 5) on a plain batch: one backward
      of the training loss and a step of both optimizers.

    Args:
        **kwargs: Arguments of :class:`mmpretrain.models.ImageClassifier`.
    """

    def architecture_parameters(self) -> Iterator[nn.Parameter]:
        """The architecture variables of the backbone."""
        if not hasattr(self.backbone, 'architecture_parameters'):
            raise TypeError(
                'SearchClassifier needs a searchable backbone with '
                '`architecture_parameters()` (e.g. ISTASuperNet), got '
                f'{type(self.backbone).__name__}')
        return self.backbone.architecture_parameters()

    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapperDict) -> Dict[str, torch.Tensor]:
        """One search iteration.

        Args:
            data (dict | tuple | list): A data batch, or
                ``dict(arch=batch, weight=batch)`` for two-stage search.
            optim_wrapper (OptimWrapperDict): Wrappers named ``'weights'``
                and ``'architecture'``.

        Returns:
            dict[str, Tensor]: Logged variables; those of the architecture
            step of a two-stage search are prefixed with ``arch_``.
        """
        return self.search_step(data, optim_wrapper, self._run_forward)

    def search_step(self, data, optim_wrapper: OptimWrapperDict,
                    run_forward: Callable) -> Dict[str, torch.Tensor]:
        """:meth:`train_step` with the forward call given.

        A distributed wrapper passes its own forward so that its gradient
        synchronisation applies.

        Args:
            data (dict | tuple | list): See :meth:`train_step`.
            optim_wrapper (OptimWrapperDict): See :meth:`train_step`.
            run_forward (Callable): ``run_forward(data, mode='loss')``
                returns the loss dict of a preprocessed batch.

        Returns:
            dict[str, Tensor]: Logged variables.
        """
        wrappers = self._search_wrappers(optim_wrapper)
        if not is_split_batch(data):
            # One-stage: every wrapper with something left to train (b is
            # out once every node has terminated).
            training = [
                w for w in wrappers.values() if trainable_parameters(w)
            ]
            return self._update(data, training, run_forward)
        log_vars = {}
        if trainable_parameters(wrappers[ARCHITECTURE]):
            arch_vars = self._update(data[ARCH_BATCH],
                                     [wrappers[ARCHITECTURE]], run_forward)
            log_vars.update(
                {f'arch_{key}': value
                 for key, value in arch_vars.items()})
        log_vars.update(
            self._update(data[WEIGHT_BATCH], [wrappers[WEIGHTS]],
                         run_forward))
        return log_vars

    @staticmethod
    def _search_wrappers(
            optim_wrapper: OptimWrapperDict) -> Dict[str, OptimWrapper]:
        """Checks and returns the weights and architecture wrappers."""
        names = set(optim_wrapper.keys()) if isinstance(
            optim_wrapper, OptimWrapperDict) else set()
        if names != {WEIGHTS, ARCHITECTURE}:
            raise TypeError(
                'SearchClassifier trains with an OptimWrapperDict of '
                f"'{WEIGHTS}' and '{ARCHITECTURE}' wrappers: set "
                "optim_wrapper.constructor='SearchOptimWrapperConstructor' "
                f'(got {type(optim_wrapper).__name__} {sorted(names)})')
        return {WEIGHTS: optim_wrapper[WEIGHTS],
                ARCHITECTURE: optim_wrapper[ARCHITECTURE]}

    def _update(self, data, wrappers: List[OptimWrapper],
                run_forward: Callable) -> Dict[str, torch.Tensor]:
        """Forward, backward into the wrappers' parameters only, steps.

        Args:
            data: One data batch.
            wrappers (list[OptimWrapper]): The wrappers to step. The
                backward computes gradients for their trainable parameters
                and nothing else, so no other parameter receives gradient
                from this batch.
            run_forward (Callable): See :meth:`search_step`.

        Returns:
            dict[str, Tensor]: Logged variables of this batch.
        """
        inputs = [p for w in wrappers for p in trainable_parameters(w)]
        with ExitStack() as stack:
            for wrapper in wrappers:
                stack.enter_context(wrapper.optim_context(self))
            data = self.data_preprocessor(data, True)
            losses = run_forward(data, mode='loss')
        loss, log_vars = self.parse_losses(losses)
        lead, others = wrappers[0], wrappers[1:]
        # One backward for every wrapper: the lead scales the loss (mixed
        # precision) and keeps count; the others count along.
        lead.backward(lead.scale_loss(loss), inputs=inputs)
        for wrapper in others:
            wrapper._inner_count += 1
            if wrapper.should_update():
                self._step_under(lead, wrapper)
        if lead.should_update():
            lead.step()
            lead.zero_grad()
        return log_vars

    @staticmethod
    def _step_under(lead: OptimWrapper, wrapper: OptimWrapper) -> None:
        """Steps a wrapper whose gradients came from ``lead``'s backward.

        Under mixed precision those gradients carry ``lead``'s loss scale:
        they are unscaled with it (before ``lead`` steps and updates its
        scale), and the step is skipped when they are not finite, as
        ``lead`` skips its own. The wrapper's own scaler, if any, is not
        used.

        Args:
            lead (OptimWrapper): The wrapper that ran the backward.
            wrapper (OptimWrapper): Another wrapper of the same backward.
        """
        scaler = getattr(lead, 'loss_scaler', None)
        if scaler is not None and scaler.is_enabled():
            grads = [
                p.grad for p in trainable_parameters(wrapper)
                if p.grad is not None
            ]
            torch._foreach_mul_(grads, 1. / scaler.get_scale())
            if not all(bool(torch.isfinite(g).all()) for g in grads):
                wrapper.zero_grad()
                return
        if getattr(wrapper, 'loss_scaler', None) is not None:
            wrapper.optimizer.step()  # already unscaled: skip its scaler
        else:
            wrapper.step()
        wrapper.zero_grad()
