# Copyright (c) mmista contributors. All rights reserved.
"""One set of BatchNorm statistics for validation and checkpoints."""
from mmengine.dist import broadcast, get_world_size
from mmengine.hooks import Hook
from torch.nn.modules.batchnorm import _BatchNorm

from mmista.registry import HOOKS
from ..utils import unwrapped_model


@HOOKS.register_module()
class BNStatsBroadcastHook(Hook):
    """Copies rank 0's BatchNorm statistics to every rank before
    validation, testing and the end of training.

    Under DDP each rank updates its BatchNorm running statistics with its
    own batches, so ranks validate slightly different networks, and none of
    them need be the one rank 0 saves in checkpoints and exports. After
    this hook every rank evaluates rank 0's network. A no-op without
    distributed training.
    """

    priority = 'HIGH'

    def before_val_epoch(self, runner) -> None:
        """Synchronises before validation."""
        self._broadcast(runner)

    def before_test_epoch(self, runner) -> None:
        """Synchronises before testing."""
        self._broadcast(runner)

    def after_train(self, runner) -> None:
        """Synchronises before the end-of-training hooks (export)."""
        self._broadcast(runner)

    @staticmethod
    def _broadcast(runner) -> None:
        if get_world_size() == 1:
            return
        for module in unwrapped_model(runner).modules():
            if isinstance(module, _BatchNorm) and module.track_running_stats:
                for buffer in (module.running_mean, module.running_var,
                               module.num_batches_tracked):
                    if buffer is not None:
                        broadcast(buffer, src=0)
