# Copyright (c) mmista contributors. All rights reserved.
"""Random state that depends on the epoch only, for exact resume."""
import random

import numpy as np
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook

from mmista.registry import HOOKS
from ..utils import diff_rank_seed

_EPOCH_STRIDE = 1_000_003  # a prime: no two (epoch, rank) pairs collide


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Reseeds Python, NumPy and torch when every training epoch starts.

    mmengine seeds the random generators once, when the runner is built,
    and does not save their state in checkpoints. A resumed run therefore
    draws other augmentations and drop-path masks than the uninterrupted
    run would have, and a search takes another path. Seeding each epoch
    from ``(seed, epoch)`` makes epoch ``e`` draw the same numbers whether
    or not the run was interrupted before it. With
    ``randomness.diff_rank_seed`` each rank also gets its own stream.

    Does nothing when the run has no seed.
    """

    priority = 'VERY_HIGH'

    def before_train_epoch(self, runner) -> None:
        """Seeds this epoch's random streams."""
        seed = runner.seed
        if seed is None:
            return
        epoch_seed = seed + runner.epoch * _EPOCH_STRIDE
        if diff_rank_seed(runner):
            epoch_seed += get_rank()
        random.seed(epoch_seed)
        np.random.seed(epoch_seed % 2**32)
        torch.manual_seed(epoch_seed)
