# Copyright (c) mmista contributors. All rights reserved.
from mmengine.hooks import Hook

from mmista.registry import HOOKS
from ..utils import backbone_with


@HOOKS.register_module()
class DropPathRampHook(Hook):
    """Ramps the backbone's drop-path probability linearly over training.

    Before epoch ``e`` (0-based) of ``E``, sets
    ``backbone.drop_path_prob = drop_path_rate * e / E``, as DARTS-style
    evaluation training does. In a one-stage search run (a backbone with
    an ``architecture``), there is no drop-path while the architecture is
    searched, and the ramp covers the evaluation epochs from the one the
    architecture was fixed at (see :class:`PhaseSwitchHook`, which runs
    first).

    Args:
        drop_path_rate (float): Probability reached at the end of training.
    """

    priority = 'VERY_LOW'

    def __init__(self, drop_path_rate: float = 0.2):
        if not 0. <= drop_path_rate < 1.:
            raise ValueError(
                f'drop_path_rate must be in [0, 1), got {drop_path_rate}')
        self.drop_path_rate = drop_path_rate

    def before_train_epoch(self, runner) -> None:
        """Sets this epoch's drop-path probability."""
        backbone = backbone_with(runner, 'drop_path_prob',
                                 type(self).__name__)
        start = 0
        architecture = getattr(backbone, 'architecture', None)
        if architecture is not None:
            if not architecture.is_fixed:
                backbone.drop_path_prob = 0.
                return
            start = int(architecture.fixed_epoch)
        span = max(runner.max_epochs - start, 1)
        backbone.drop_path_prob = (
            self.drop_path_rate * (runner.epoch - start) / span)
