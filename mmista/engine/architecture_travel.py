# Copyright (c) mmista contributors. All rights reserved.
"""How far ``b`` could have moved: the clock of the termination test.

Adam moves every coordinate of ``b`` by about its learning rate per step,
whatever the gradient's scale (docs/en/method/onestage.md):

- where the gradient keeps its sign, ``b`` drifts by the sum of the
  learning rates over the steps, its *travel* ``sum(lr)``;
- where only noise is left, the steps' signs are random and ``b`` wanders
  by the square root of the sum of their squares, its *spread*
  ``sqrt(sum(lr ** 2))`` (a random walk).

The reference code's termination test follows one CIFAR-10 epoch: 521 steps
of batch 96 at Adam lr 3e-4, a travel of 0.1563 and a spread of 0.006848.

Both are kept in the runner's message hub (checkpointed with it), so that a
resumed run counts on from where it stopped: the steps since the last
recovery as ``[lr, steps]`` pairs, so that a constant learning rate gives
exactly the reference's spread, and the travel since the start as a sum.
"""
import math
from typing import List, Optional

from mmista.errors import ConfigError

#: The reference code's CIFAR-10 epoch: 50,000 images in batches of 96
#: (521 steps) at Adam lr 3e-4 on ``b``.
REFERENCE_EPOCH = dict(iters=521, lr=3e-4)
#: Message-hub info: ``[lr, steps]`` pairs of the architecture optimizer
#: since the last recovery.
TRAVEL_SINCE_RECOVERY = 'search/b_travel_since_recovery'
#: Message-hub info: ``sum(lr)`` since training started.
TRAVEL_TOTAL = 'search/b_travel_total'
#: More pairs than this (a learning rate that changes every step) are
#: merged into one of the same spread.
MAX_PAIRS = 64
#: The optimizer of ``b`` in a search's optimizer wrapper dict.
ARCHITECTURE_OPTIMIZER = 'architecture'


def reference_pairs(reference_epoch: dict) -> List[List[float]]:
    """One reference epoch as ``[lr, steps]`` pairs."""
    return [[reference_epoch['lr'], reference_epoch['iters']]]


def reference_travel(reference_epoch: dict) -> float:
    """The travel of one reference epoch, ``iters * lr``."""
    return travel_of(reference_pairs(reference_epoch))


def reference_spread(reference_epoch: dict) -> float:
    """The spread of one reference epoch, ``lr * sqrt(iters)``."""
    return spread_of(reference_pairs(reference_epoch))


def check_reference_epoch(reference_epoch: Optional[dict],
                          key: str) -> Optional[dict]:
    """Checks a ``dict(iters=..., lr=...)`` setting.

    Args:
        reference_epoch (dict, optional): The setting (None: unused).
        key (str): Its config key, for the message.

    Returns:
        dict, optional: ``dict(iters=int, lr=float)``, or None.

    Raises:
        ConfigError: It is not such a dict, or a value is not positive.
    """
    if reference_epoch is None:
        return None
    if (not isinstance(reference_epoch, dict)
            or set(reference_epoch) != {'iters', 'lr'}):
        raise ConfigError(
            f'{key} must be dict(iters=..., lr=...) (the reference code: '
            f'dict(iters=521, lr=3e-4)) or None, got {reference_epoch!r}')
    iters, lr = reference_epoch['iters'], reference_epoch['lr']
    if (isinstance(iters, bool) or not isinstance(iters, int) or iters < 1
            or isinstance(lr, bool) or not isinstance(lr, (int, float))
            or not lr > 0 or not math.isfinite(lr)):
        raise ConfigError(
            f'{key} needs a positive integer iters and a positive lr, got '
            f'{reference_epoch!r}')
    return dict(iters=iters, lr=float(lr))


def architecture_optimizer(runner):
    """The optimizer of ``b`` (``optim_wrapper['architecture']``).

    Raises:
        ConfigError: The run's optimizer wrapper has no such entry.
    """
    wrappers = runner.optim_wrapper
    if ARCHITECTURE_OPTIMIZER not in getattr(wrappers, 'optim_wrappers',
                                             {}):
        raise ConfigError(
            'the termination test measures how far b moved, from the '
            "learning rate of optim_wrapper['architecture']: build the "
            "optimizers with constructor='SearchOptimWrapperConstructor' "
            'and an architecture entry (configs/_base_/schedules/'
            'ista_onestage_cifar.py)')
    return wrappers[ARCHITECTURE_OPTIMIZER].optimizer


def architecture_lr(runner) -> float:
    """The learning rate of ``b`` now."""
    return float(architecture_optimizer(runner).param_groups[0]['lr'])


def set_architecture_lr(runner, lr: float) -> None:
    """Sets the learning rate of every parameter group of ``b``."""
    for group in architecture_optimizer(runner).param_groups:
        group['lr'] = lr
        if 'initial_lr' in group:
            group['initial_lr'] = lr


def travel_of(pairs: List[List[float]]) -> float:
    """``sum(lr)`` over the steps of ``[lr, steps]`` pairs."""
    return math.fsum(lr * steps for lr, steps in pairs)


def spread_of(pairs: List[List[float]]) -> float:
    """``sqrt(sum(lr ** 2))`` over the steps of ``[lr, steps]`` pairs."""
    return math.sqrt(math.fsum(lr * lr * steps for lr, steps in pairs))


def _add(pairs: List[List[float]], lr: float) -> List[List[float]]:
    if pairs and pairs[-1][0] == lr:
        return pairs[:-1] + [[lr, pairs[-1][1] + 1]]
    if len(pairs) >= MAX_PAIRS:
        steps = sum(count for _, count in pairs)
        pairs = [[spread_of(pairs) / math.sqrt(steps), steps]]
    return pairs + [[lr, 1]]


class ArchitectureTravel:
    """The travel of ``b`` since training started and since the last
    recovery, kept in the runner's message hub.

    Args:
        runner (Runner): The runner.
    """

    def __init__(self, runner):
        self.hub = runner.message_hub

    def _pairs(self, key: str) -> List[List[float]]:
        # _add and spread_of build new lists; the stored pairs are not
        # changed in place
        return list(self.hub.get_info(key) or [])

    def record_step(self, lr: float) -> None:
        """Counts one step of ``b``'s optimizer at learning rate ``lr``."""
        self.hub.update_info(TRAVEL_SINCE_RECOVERY,
                             _add(self._pairs(TRAVEL_SINCE_RECOVERY), lr))
        self.hub.update_info(TRAVEL_TOTAL, self.total() + lr)

    def spread_since_recovery(self) -> float:
        """The spread since the last recovery."""
        return spread_of(self._pairs(TRAVEL_SINCE_RECOVERY))

    def total(self) -> float:
        """The travel since training started."""
        return float(self.hub.get_info(TRAVEL_TOTAL) or 0.)

    def start_interval(self) -> None:
        """A recovery ran: the travel since it starts from zero."""
        self.hub.update_info(TRAVEL_SINCE_RECOVERY, [])
