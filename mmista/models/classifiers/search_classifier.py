# Copyright (c) mmista contributors. All rights reserved.
"""An image classifier whose backbone is searched while it trains."""
from contextlib import ExitStack, nullcontext
from typing import Callable, Dict, Iterator, List, Optional, Union

import torch
import torch.nn as nn
from mmengine.dist import all_reduce, get_world_size
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmpretrain.models.classifiers import ImageClassifier

from mmista.finite import NonFiniteError
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


def average_gradients(params: List[nn.Parameter]) -> None:
    """Averages the gradients of ``params`` over the processes (one
    collective; a no-op without distributed training)."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads or get_world_size() == 1:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    all_reduce(flat, op='mean')
    offset = 0
    for grad in grads:
        grad.copy_(flat[offset:offset + grad.numel()].view_as(grad))
        offset += grad.numel()


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

    - **two-stage search** (docs/en/method/twostage.md) when the batch is
      ``dict(arch=..., weight=...)`` (as :class:`TwoStageSearchLoop` feeds
      it): first an architecture step on the ``arch`` batch, whose backward
      reaches only the architecture variables, then a weight step on the
      ``weight`` batch, whose backward reaches only the weights (first
      order);
    - **one-stage search** (docs/en/method/onestage.md) on a plain batch:
      one backward of the training loss and a step of both optimizers.

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

    def search_step(self,
                    data,
                    optim_wrapper: OptimWrapperDict,
                    run_forward: Callable,
                    ddp: Optional[nn.Module] = None
                    ) -> Dict[str, torch.Tensor]:
        """:meth:`train_step` with the forward call given.

        A distributed wrapper passes its own forward (so that its gradient
        synchronisation applies) and itself. Under DDP the architecture
        step of a two-stage search runs without DDP's synchronisation and
        averages the gradients of ``b`` itself (DDP cannot reduce a backward
        restricted to ``b``); the weight step runs a full, synchronised
        backward and then drops what reached ``b``.

        Args:
            data (dict | tuple | list): See :meth:`train_step`.
            optim_wrapper (OptimWrapperDict): See :meth:`train_step`.
            run_forward (Callable): ``run_forward(data, mode='loss')``
                returns the loss dict of a preprocessed batch.
            ddp (nn.Module, optional): The ``DistributedDataParallel``
                wrapping this model, if any.

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
            return self._update(
                data, training, run_forward, restrict=ddp is None)
        log_vars = {}
        arch = wrappers[ARCHITECTURE]
        if trainable_parameters(arch):
            with ddp.no_sync() if ddp is not None else nullcontext():
                arch_vars = self._update(
                    data[ARCH_BATCH], [arch],
                    run_forward,
                    before_step=None if ddp is None else
                    lambda: average_gradients(trainable_parameters(arch)))
            log_vars.update(
                {f'arch_{key}': value
                 for key, value in arch_vars.items()})
        log_vars.update(
            self._update(
                data[WEIGHT_BATCH], [wrappers[WEIGHTS]],
                run_forward,
                restrict=ddp is None))
        if ddp is not None:
            arch.zero_grad()  # the weight batch's gradient of b
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

    def _update(self,
                data,
                wrappers: List[OptimWrapper],
                run_forward: Callable,
                restrict: bool = True,
                before_step: Optional[Callable[[], None]] = None
                ) -> Dict[str, torch.Tensor]:
        """Forward, backward into the wrappers' parameters only, steps.

        Args:
            data: One data batch.
            wrappers (list[OptimWrapper]): The wrappers to step.
            run_forward (Callable): See :meth:`search_step`.
            restrict (bool): Compute gradients for the wrappers' trainable
                parameters and nothing else, so no other parameter receives
                gradient from this batch. Defaults to True.
            before_step (Callable, optional): Called between the backward
                and the steps.

        Returns:
            dict[str, Tensor]: Logged variables of this batch.
        """
        inputs = [p for w in wrappers for p in trainable_parameters(w)
                  ] if restrict else None
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
        if before_step is not None:
            before_step()
        try:
            for wrapper in others:
                if hasattr(wrapper, 'watch_loss'):  # FiniteOptimWrapper
                    wrapper.watch_loss(loss)
                wrapper._inner_count += 1
                if wrapper.should_update():
                    self._step_under(lead, wrapper)
            if lead.should_update():
                lead.step()
                lead.zero_grad()
        except NonFiniteError:
            # no gradient of this backward is left for a later step
            for wrapper in wrappers:
                wrapper.zero_grad()
            raise
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
            if grads:
                torch._foreach_mul_(grads, 1. / scaler.get_scale())
            # one host synchronisation for all of them
            if grads and not bool(
                    torch.stack([torch.isfinite(g).all()
                                 for g in grads]).all()):
                wrapper.zero_grad()
                return
        if getattr(wrapper, 'loss_scaler', None) is not None:
            wrapper.optimizer.step()  # already unscaled: skip its scaler
        else:
            wrapper.step()
        wrapper.zero_grad()
