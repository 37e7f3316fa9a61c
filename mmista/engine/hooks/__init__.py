# Copyright (c) mmista contributors. All rights reserved.
from .architecture_recovery_hook import ArchitectureRecoveryHook
from .drop_path_ramp_hook import DropPathRampHook
from .weights_only_checkpoint_hook import WeightsOnlyCheckpointHook

__all__ = [
    'ArchitectureRecoveryHook', 'DropPathRampHook',
    'WeightsOnlyCheckpointHook'
]
