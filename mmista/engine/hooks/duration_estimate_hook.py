# Copyright (c) mmista contributors. All rights reserved.
"""How long a run will take, said before its first iteration."""
import copy
import random
import time
from contextlib import contextmanager
from typing import Callable, Iterator, List, Optional, Tuple

import numpy as np
import torch
from mmengine.dist import broadcast, is_main_process
from mmengine.hooks import Hook
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper, OptimWrapperDict

from mmista.finite import NonFiniteError
from mmista.registry import HOOKS
from ..runner import OneStageSearchLoop
from ..utils import unwrapped_model

#: C and cells of the small network (``network_size = 'small'`` of
#: configs/ista/*_custom.py), suggested for a long run.
SMALL_CHANNELS, SMALL_LAYERS = 8, 5


def format_duration(seconds: float) -> str:
    """A duration as a person reads it: ``'40 s'``, ``'12 min'``,
    ``'3 h 05 min'``, ``'1 d 03 h'``.

    Args:
        seconds (float): The duration.

    Returns:
        str: The duration, rounded to its two largest units.
    """
    seconds = max(0, int(round(seconds)))
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if days:
        return f'{days} d {hours - 24 * days:02d} h'
    if hours:
        return f'{hours} h {minutes - 60 * hours:02d} min'
    if minutes:
        return f'{minutes} min'
    return f'{seconds} s'


def count_validations(done: int, total: int, begin: int, interval: int) -> int:
    """How many validations a loop runs from step ``done + 1`` to
    ``total`` (epochs or iterations): at each multiple of ``interval`` from
    ``begin`` on, and at the last step (as mmengine's train loops do).

    Args:
        done (int): Steps already run.
        total (int): Steps of the whole run.
        begin (int): First step that validates.
        interval (int): Steps between validations.

    Returns:
        int: The number of validations left.
    """
    first = max(done + 1, begin, 1)
    if first > total:
        return 0
    interval = max(1, int(interval))
    multiples = total // interval - (first - 1) // interval
    return multiples + (1 if total % interval else 0)


@contextmanager
def _random_state_kept() -> Iterator[None]:
    """Leaves Python's, NumPy's and torch's (CPU and current CUDA device)
    random states as they were."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() \
        and torch.cuda.is_initialized() else []
    try:
        with torch.random.fork_rng(devices=devices):
            yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def _wrappers(optim_wrapper) -> List[OptimWrapper]:
    """The optimizer wrappers of an ``OptimWrapper(Dict)``."""
    if isinstance(optim_wrapper, OptimWrapperDict):
        return list(optim_wrapper.values())
    return [optim_wrapper]


def _copy_for_timing(model: torch.nn.Module, optim_wrapper):
    """The model and its optimizer wrappers, deep-copied together (the
    copied optimizers step the copied parameters); the copies log to a
    message hub of their own, not to the run's."""
    memo = {}
    for wrapper in _wrappers(optim_wrapper):
        hub = getattr(wrapper, 'message_hub', None)
        if hub is not None:
            memo[id(hub)] = MessageHub('duration_estimate')
    return copy.deepcopy((model, optim_wrapper), memo)


def _repeated_batch(dataloader) -> Optional[dict]:
    """A batch of the dataloader's size, made of its first sample
    repeated (the shape and type of the run's batches, one decode)."""
    dataset = getattr(dataloader, 'dataset', None)
    if dataset is None or len(dataset) == 0:
        return None
    batch_size = dataloader.batch_size or getattr(
        getattr(dataloader, 'batch_sampler', None), 'batch_size', 1)
    return dataloader.collate_fn([dataset[0]] * int(batch_size))


@HOOKS.register_module()
class DurationEstimateHook(Hook):
    """Logs how long the run will take before its first iteration, and
    warns with what to change when that is long.

    A copy of the model and its optimizers (without the distributed
    wrapper) runs a training step on a batch of the training set's first
    sample repeated to the batch size (for a two-stage search, a weight
    and an architecture batch: both steps of an iteration), then a
    validation step. When these first steps, the slowest (warm-up),
    already put the whole run under ``quick_below_s``, they are the
    estimate; otherwise ``timed_iters`` more training steps and one more
    validation step are timed. The estimate is the time per step times the
    iterations and validation batches left. The run itself is untouched:
    its model, optimizer state, BatchNorm statistics, data order, random
    streams and logged values are those of a run without the estimate.
    Every process times its own copy, as many steps as rank 0 (which
    decides whether to time more); only rank 0 logs.

    Data loading, checkpoints and the per-epoch recoveries of a search are
    not counted. A one-stage search (:class:`OneStageSearchLoop`) runs at
    most its search cap plus its evaluation epochs: the estimate is then
    an upper bound.

    Args:
        warn_above_s (float): Warn when the estimate exceeds this many
            seconds. Defaults to 3600 (an hour).
        timed_iters (int): Training steps timed after the first, unless
            the first already puts the run under ``quick_below_s``.
            Defaults to 1.
        quick_below_s (float): A run the first steps put under this many
            seconds is not timed further. Defaults to 60.
        enable (bool): Whether to estimate at all (as mmengine's
            ``VisualizationHook`` is turned off). Defaults to True.
    """

    priority = 'LOWEST'  # after every other hook has set the model up

    def __init__(self,
                 warn_above_s: float = 3600.,
                 timed_iters: int = 1,
                 quick_below_s: float = 60.,
                 enable: bool = True):
        if warn_above_s < 0 or timed_iters < 1 or quick_below_s < 0:
            raise ValueError('DurationEstimateHook needs warn_above_s >= 0, '
                             f'timed_iters >= 1 and quick_below_s >= 0, got '
                             f'{warn_above_s}, {timed_iters}, {quick_below_s}')
        self.warn_above_s = float(warn_above_s)
        self.timed_iters = int(timed_iters)
        self.quick_below_s = float(quick_below_s)
        self.enable = bool(enable)

    def before_train(self, runner) -> None:
        """Times the copy, then logs the estimate (and the warning)."""
        loop = runner.train_loop
        iters_left = loop.max_iters - runner.iter
        if not self.enable or iters_left <= 0:
            return
        start = time.perf_counter()
        val_batches = self._validation_batches(runner)
        try:
            with _random_state_kept():
                train_s, val_s = self._time_steps(runner, iters_left,
                                                  val_batches)
        except NonFiniteError as error:
            if is_main_process():
                runner.logger.info(f'No duration estimate: {error}')
            return
        total = iters_left * train_s + val_batches * val_s
        upper_bound = isinstance(loop, OneStageSearchLoop)
        if is_main_process():
            runner.logger.info(
                self._estimate_line(total, iters_left, train_s, val_batches,
                                    val_s, upper_bound,
                                    time.perf_counter() - start))
            if total > self.warn_above_s:
                runner.logger.warning(self._warning(runner, total))

    def _time_steps(self, runner, iters: int,
                    val_batches: int) -> Tuple[float, float]:
        """Seconds of one training iteration and of one validation batch
        (0 without validation), on a copy of the model.

        Args:
            runner (Runner): The runner.
            iters (int): Training iterations left.
            val_batches (int): Validation batches left.

        Returns:
            tuple[float, float]: Seconds per training iteration and per
            validation batch.
        """
        model, optim_wrapper = _copy_for_timing(
            unwrapped_model(runner), runner.optim_wrapper)
        loop = runner.train_loop
        batch = _repeated_batch(loop.dataloader)
        arch_loader = getattr(loop, 'arch_dataloader', None)
        if arch_loader is not None:  # two-stage: both steps
            batch = dict(arch=_repeated_batch(arch_loader), weight=batch)
        val_batch = _repeated_batch(runner.val_loop.dataloader) \
            if val_batches else None

        def train_step() -> None:
            model.train()
            model.train_step(batch, optim_wrapper)

        def val_step() -> None:
            if val_batch is not None:
                model.eval()
                with torch.no_grad():
                    model.val_step(val_batch)

        train_s, val_s = self._seconds(train_step), self._seconds(val_step)
        # rank 0 decides, so that every rank runs as many steps (a model
        # with SyncBatchNorm communicates at each)
        slow = torch.tensor(
            float(iters * train_s + val_batches * val_s >= self.quick_below_s))
        broadcast(slow, src=0)
        if slow.item():
            train_s = self._seconds(train_step, self.timed_iters)
            val_s = self._seconds(val_step)
        return train_s, val_s

    @classmethod
    def _seconds(cls, step: Callable[[], None], times: int = 1) -> float:
        """Mean seconds of ``times`` calls of ``step``."""
        start = cls._clock()
        for _ in range(times):
            step()
        return (cls._clock() - start) / times

    @staticmethod
    def _clock() -> float:
        """Seconds, after the work queued on the GPU has finished."""
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            torch.cuda.synchronize()
        return time.perf_counter()

    @staticmethod
    def _validation_batches(runner) -> int:
        """Validation batches the run has left."""
        loop, val_loop = runner.train_loop, runner.val_loop
        if val_loop is None:
            return 0
        if hasattr(loop, 'max_epochs'):
            done, total = runner.epoch, loop.max_epochs
        else:
            done, total = runner.iter, loop.max_iters
        validations = count_validations(done, total,
                                        getattr(loop, 'val_begin', 1),
                                        getattr(loop, 'val_interval', 1))
        return validations * len(val_loop.dataloader)

    @staticmethod
    def _estimate_line(total: float, iters: int, train_s: float,
                       val_batches: int, val_s: float, upper_bound: bool,
                       cost_s: float) -> str:
        """The info line of the estimate."""
        line = (f'Expected duration: {"at most " if upper_bound else ""}'
                f'{format_duration(total)} ({iters} iterations of '
                f'{train_s:.3f} s')
        if val_batches:
            line += f', {val_batches} validation batches of {val_s:.3f} s'
        line += (f'; timed in {cost_s:.1f} s on a copy of the model, data '
                 'loading and checkpoints not counted')
        if upper_bound:
            line += ('; the search may fix the architecture before its '
                     'cap, which ends the run sooner')
        return line + ')'

    def _warning(self, runner, total: float) -> str:
        """The warning of a long run: what to change for a shorter one."""
        cfg = runner.cfg
        size = cfg.get('network_size')
        changes = []
        if size is not None and size != 'small':
            changes.append("a smaller network: network_size = 'small' at "
                           'the top of the config')
        elif size is None and _larger_than_small(cfg):
            changes.append('a smaller network: --cfg-options '
                           f'model.backbone.channels={SMALL_CHANNELS} '
                           f'model.backbone.layers={SMALL_LAYERS}')
        if 'image_size' in cfg:
            changes.append('smaller images: image_size at the top of the '
                           'config')
        if isinstance(runner.train_loop, OneStageSearchLoop):
            changes.append('fewer evaluation epochs: --cfg-options '
                           'train_cfg.stages.phase_switch.eval_epochs=N')
        else:
            changes.append('fewer epochs: --cfg-options '
                           'train_cfg.max_epochs=N')
        if not torch.cuda.is_available():
            changes.append('a GPU')
        return (f'This run is expected to take {format_duration(total)}, '
                f'more than {format_duration(self.warn_above_s)}. For a '
                f'shorter one: {"; ".join(changes)}.')


def _larger_than_small(cfg) -> bool:
    """Whether the config's backbone has more channels or cells than the
    small network of the custom configs."""
    backbone = (cfg.get('model') or {}).get('backbone') or {}
    return backbone.get('channels', 0) > SMALL_CHANNELS or \
        backbone.get('layers', 0) > SMALL_LAYERS
